// Write-to-temp, fsync, rename: see atomic_file.h.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <random>
#include <system_error>

#include "ember/error.h"

namespace ember::io {

namespace {

std::string os_message(int err) { return std::generic_category().message(err); }

[[noreturn]] void throw_os(const std::string& what, const std::string& path, int err) {
  throw Error(str(what, " '", path, "': ", os_message(err)));
}

// "dir/name" -> "dir"; "name" -> "."; "/name" -> "/".
std::string parent_dir(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Creates the temporary file with O_EXCL so two writers (threads or processes) never share one.
// Not mkstemp: that forces mode 0600, and the saved file should get the usual permissions.
int create_temp(const std::string& path, std::string& temp_path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  const std::string dir = parent_dir(path);
  const std::string prefix = (dir == "/" ? "/" : dir + "/") + "." + base_name(path) + ".tmp.";
  int last_err = 0;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint64_t tag = salt + counter.fetch_add(1) * 0x9E3779B97F4A7C15ull;
    temp_path = prefix + std::to_string(::getpid()) + "." + std::to_string(tag);
    const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) return fd;
    last_err = errno;
    if (last_err != EEXIST) break;
  }
  throw_os("cannot create a temporary file in", dir, last_err);
}

void write_all(int fd, const void* data, size_t size, const std::string& temp_path) {
  auto p = static_cast<const char*>(data);
  while (size > 0) {
    // Linux caps one write() near 2 GiB; ask for at most 1 GiB at a time.
    const size_t chunk = size < (size_t(1) << 30) ? size : (size_t(1) << 30);
    const ssize_t n = ::write(fd, p, chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_os("cannot write", temp_path, errno);
    }
    if (n == 0) throw_os("cannot write", temp_path, EIO);
    p += n;
    size -= static_cast<size_t>(n);
  }
}

// Removes the temporary file unless disarmed after the rename.
class TempFile {
 public:
  TempFile(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!path_.empty()) ::unlink(path_.c_str());
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }
  // close() reports delayed write errors (NFS, quotas), so its result matters.
  void close() {
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0 && errno != EINTR) throw_os("cannot close", path_, errno);
  }
  void disarm() { path_.clear(); }

 private:
  int fd_;
  std::string path_;
};

void sync_directory(const std::string& dir, const std::string& path) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) throw_os(str("wrote '", path, "' but cannot open its directory"), dir, errno);
  // Some file systems cannot fsync a directory (EINVAL); the rename is then as durable as the
  // file system makes it, and there is nothing more to do.
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0 && err != EINVAL && err != ENOTSUP)
    throw_os(str("wrote '", path, "' but cannot fsync its directory"), dir, err);
}

}  // namespace

void atomic_write_file(const std::string& path, const std::vector<ByteSpan>& pieces) {
  if (path.empty()) throw ValueError("atomic_write_file: empty path");
  if (path.back() == '/') throw ValueError(str("atomic_write_file: '", path, "' names a directory"));
  std::string temp_path;
  const int fd = create_temp(path, temp_path);
  TempFile temp(fd, temp_path);
  for (const ByteSpan& piece : pieces) {
    if (piece.size > 0 && piece.data == nullptr)
      throw ValueError(str("atomic_write_file: null data for ", piece.size, " bytes"));
    write_all(temp.fd(), piece.data, piece.size, temp.path());
  }
  if (::fsync(temp.fd()) != 0) throw_os("cannot fsync", temp.path(), errno);
  temp.close();
  if (::rename(temp.path().c_str(), path.c_str()) != 0) throw_os("cannot replace", path, errno);
  temp.disarm();
  sync_directory(parent_dir(path), path);
}

void atomic_write_file(const std::string& path, std::string_view bytes) {
  atomic_write_file(path, std::vector<ByteSpan>{{bytes.data(), bytes.size()}});
}

}  // namespace ember::io
