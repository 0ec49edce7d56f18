// safetensors reading (validate everything, then trust it) and writing. See safetensors.h.
#include "io/safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>
#include <new>
#include <system_error>

#include "ember/error.h"
#include "io/atomic_file.h"
#include "io/json.h"

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors data is little-endian and is copied to and from memory as is");

namespace ember::io {

namespace {

struct DTypeInfo {
  const char* name;
  size_t size;
};

// In the reference library's enum order, which is increasing alignment; the writer sorts by
// descending position here so its tensor order matches files written by the Python library.
constexpr DTypeInfo kDTypes[] = {
    {"BOOL", 1},        {"U8", 1},          {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"F8_E8M0", 1},     {"F8_E4M3FNUZ", 1}, {"F8_E5M2FNUZ", 1},
    {"I16", 2},         {"U16", 2},         {"F16", 2}, {"BF16", 2},
    {"I32", 4},         {"U32", 4},         {"F32", 4},
    {"C64", 8},         {"F64", 8},         {"I64", 8}, {"U64", 8},
};

// Index into kDTypes, or -1.
int dtype_rank(std::string_view name) {
  for (size_t i = 0; i < std::size(kDTypes); ++i)
    if (name == kDTypes[i].name) return static_cast<int>(i);
  return -1;
}

std::string q(std::string_view s) { return json::quote_for_message(s); }

std::string shape_str(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string shape_str(const std::vector<int64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string range_str(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

[[noreturn]] void fail(const std::string& what) { throw ValueError("safetensors: " + what); }

[[noreturn]] void fail_tensor(const std::string& name, const std::string& what) {
  fail("tensor " + q(name) + ": " + what);
}

// numel * itemsize of `dims`, or fail naming the tensor when it does not fit in 64 bits (and
// numel in int64_t, which the tensor layer counts elements in).
uint64_t checked_nbytes(const std::string& name, const std::vector<uint64_t>& dims,
                        const std::string& dtype, size_t itemsize) {
  constexpr uint64_t kMaxNumel = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t numel = 1;
  for (uint64_t d : dims) {
    if (d != 0 && numel > kMaxNumel / d)
      fail_tensor(name, "shape " + shape_str(dims) + " has more elements than fit in int64");
    numel *= d;
  }
  // Zero-size tensors stop the product at zero, so a huge dim after a zero is still fine; the
  // division above only runs for d != 0.
  if (numel > std::numeric_limits<uint64_t>::max() / itemsize)
    fail_tensor(name, "shape " + shape_str(dims) + " of " + dtype + " needs more than 2^64 bytes");
  return numel * itemsize;
}

const char* json_type(const json::Value& v) { return json::type_name(v.type()); }

// A short rendering of an offending value for a message: scalars as written, containers by type.
std::string brief(const json::Value& v) {
  switch (v.type()) {
    case json::Type::Array: return "an array";
    case json::Type::Object: return "an object";
    case json::Type::String: return "string " + q(v.as_string());
    default: return json::dump(v);
  }
}

// One tensor entry of the header, checked on its own (ranges against each other come later).
SafetensorsEntry parse_entry(const std::string& name, const json::Value& v, uint64_t data_size) {
  if (!v.is_object())
    fail_tensor(name, std::string("expected an object with dtype, shape and data_offsets, got ") +
                          json_type(v));
  SafetensorsEntry e;
  e.name = name;

  const json::Value* dtype = v.find("dtype");
  if (dtype == nullptr) fail_tensor(name, "missing \"dtype\"");
  if (!dtype->is_string())
    fail_tensor(name, std::string("\"dtype\" must be a string, got ") + json_type(*dtype));
  e.dtype = dtype->as_string();
  const size_t itemsize = safetensors_dtype_size(e.dtype);
  if (itemsize == 0) fail_tensor(name, "unknown or unsupported dtype " + q(e.dtype));

  const json::Value* shape = v.find("shape");
  if (shape == nullptr) fail_tensor(name, "missing \"shape\"");
  if (!shape->is_array())
    fail_tensor(name, std::string("\"shape\" must be an array, got ") + json_type(*shape));
  std::vector<uint64_t> dims;
  dims.reserve(shape->as_array().size());
  for (size_t i = 0; i < shape->as_array().size(); ++i) {
    const json::Value& dim = shape->as_array()[i];
    const std::optional<uint64_t> d = dim.to_u64();
    if (!d || *d > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      fail_tensor(name, "shape[" + std::to_string(i) + "] must be an integer in [0, 2^63), got " +
                            brief(dim));
    dims.push_back(*d);
  }
  const uint64_t nbytes = checked_nbytes(name, dims, e.dtype, itemsize);
  e.shape.assign(dims.begin(), dims.end());

  const json::Value* offsets = v.find("data_offsets");
  if (offsets == nullptr) fail_tensor(name, "missing \"data_offsets\"");
  const std::optional<uint64_t> begin =
      offsets->is_array() && offsets->as_array().size() == 2 ? offsets->as_array()[0].to_u64()
                                                               : std::nullopt;
  const std::optional<uint64_t> end =
      offsets->is_array() && offsets->as_array().size() == 2 ? offsets->as_array()[1].to_u64()
                                                               : std::nullopt;
  if (!begin || !end)
    fail_tensor(name, "\"data_offsets\" must be [begin, end], two integers in [0, 2^64), got " +
                          (offsets->is_array() && offsets->as_array().size() <= 4
                               ? json::dump(*offsets).substr(0, 200)
                               : brief(*offsets)));
  e.begin = *begin;
  e.end = *end;
  if (e.begin > e.end)
    fail_tensor(name, "data_offsets " + range_str(e.begin, e.end) + " have begin > end");
  if (e.end > data_size)
    fail_tensor(name, "data_offsets " + range_str(e.begin, e.end) +
                          " run past the end of the data section (" + std::to_string(data_size) +
                          " bytes)");
  if (e.end - e.begin != nbytes)
    fail_tensor(name, "data_offsets " + range_str(e.begin, e.end) + " hold " +
                          std::to_string(e.end - e.begin) + " bytes but shape " +
                          shape_str(dims) + " of " + e.dtype + " needs " + std::to_string(nbytes));
  // Unknown keys are ignored, as the reference library does.
  return e;
}

SafetensorsMetadata parse_metadata(const json::Value& v) {
  if (!v.is_object())
    fail(std::string("\"__metadata__\" must be an object of strings, got ") + json_type(v));
  SafetensorsMetadata out;
  out.reserve(v.as_object().size());
  for (const auto& [key, value] : v.as_object()) {
    if (!value.is_string())
      fail("\"__metadata__\" value for key " + q(key) + " must be a string, got " +
           json_type(value));
    out.emplace_back(key, value.as_string());
  }
  return out;
}

// After sorting by (begin, end) the ranges must tile [0, data_size): each starts where the
// previous one ended. Zero-size tensors sit between neighbours at the shared offset.
void check_tiling(const std::vector<SafetensorsEntry>& entries, uint64_t data_size) {
  uint64_t expected = 0;
  const SafetensorsEntry* prev = nullptr;
  for (const SafetensorsEntry& e : entries) {
    if (e.begin != expected) {
      const std::string where =
          prev ? "tensor " + q(prev->name) + " " + range_str(prev->begin, prev->end)
               : std::string("the start of the data section");
      fail_tensor(e.name, "data_offsets " + range_str(e.begin, e.end) +
                              (e.begin > expected ? " leave a gap after " : " overlap ") + where);
    }
    expected = e.end;
    prev = &e;
  }
  if (expected != data_size) {
    if (entries.empty())
      fail("the header lists no tensors but " + std::to_string(data_size) +
           " bytes of data follow it");
    fail("the tensors cover " + std::to_string(expected) + " bytes but the data section holds " +
         std::to_string(data_size) + " (the last tensor is " + q(prev->name) + ")");
  }
}

}  // namespace

size_t safetensors_dtype_size(std::string_view dtype) {
  const int r = dtype_rank(dtype);
  return r < 0 ? 0 : kDTypes[r].size;
}

const SafetensorsEntry* SafetensorsHeader::find(std::string_view name) const {
  for (const SafetensorsEntry& e : entries)
    if (e.name == name) return &e;
  return nullptr;
}

// --- reading ----------------------------------------------------------------------------------

SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size) {
  if (bytes == nullptr && size != 0) throw ValueError("safetensors: null buffer");
  if (size < 8)
    fail("file is " + std::to_string(size) + " bytes, too small for the 8-byte header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little-endian whatever the host
  if (n > kSafetensorsMaxHeaderBytes)
    fail("header length " + std::to_string(n) + " exceeds the limit of " +
         std::to_string(kSafetensorsMaxHeaderBytes) + " bytes");
  if (n > size - 8)
    fail("header length " + std::to_string(n) + " runs past the end of the file (" +
         std::to_string(size) + " bytes)");

  SafetensorsHeader h;
  h.data_start = 8 + n;
  h.data_size = size - h.data_start;

  json::Value root;
  try {
    // A real header has ~10 JSON values per tensor; the cap keeps a hostile 100 MB header of
    // "[0,0,0,..." from building a multi-GB tree.
    json::ParseOptions opt;
    opt.max_depth = 64;
    opt.max_values = size_t(1) << 25;
    root = json::parse(std::string_view(reinterpret_cast<const char*>(bytes + 8), n), opt);
  } catch (const ValueError& e) {
    std::string why = e.what();
    if (why.rfind("JSON: ", 0) == 0) why.erase(0, 6);
    fail("invalid JSON header: " + why + " of the header");
  }
  if (!root.is_object()) fail(std::string("header must be a JSON object, got ") + json_type(root));

  for (const auto& [key, value] : root.as_object()) {
    if (key == "__metadata__") {
      h.metadata = parse_metadata(value);
      continue;
    }
    h.entries.push_back(parse_entry(key, value, h.data_size));
  }

  // Sort an index permutation so json_order can point from JSON position to sorted position.
  std::vector<size_t> perm(h.entries.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  std::stable_sort(perm.begin(), perm.end(), [&](size_t a, size_t b) {
    const SafetensorsEntry& x = h.entries[a];
    const SafetensorsEntry& y = h.entries[b];
    return x.begin != y.begin ? x.begin < y.begin : x.end < y.end;
  });
  std::vector<SafetensorsEntry> sorted;
  sorted.reserve(perm.size());
  h.json_order.assign(perm.size(), 0);
  for (size_t pos = 0; pos < perm.size(); ++pos) {
    sorted.push_back(std::move(h.entries[perm[pos]]));
    h.json_order[perm[pos]] = pos;
  }
  h.entries = std::move(sorted);
  check_tiling(h.entries, h.data_size);
  return h;
}

namespace {

[[noreturn]] void throw_os(const std::string& what, const std::string& path, int err) {
  throw Error(str(what, " '", path, "': ", std::generic_category().message(err)));
}

// Closes the descriptor on every path out of load_safetensors_file.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

SafetensorsFile load_safetensors_file(const std::string& path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw_os("cannot open", path, errno);
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) throw_os("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) throw Error(str("cannot load '", path, "': not a regular file"));
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size > std::numeric_limits<size_t>::max() / 2)
    throw Error(str("cannot load '", path, "': file too large"));

  SafetensorsFile out;
  out.size = static_cast<size_t>(size);
  uint8_t* buf = new (std::nothrow) uint8_t[out.size > 0 ? out.size : 1];
  if (buf == nullptr)
    throw OutOfMemoryError(str("cannot load '", path, "': failed to allocate ", size, " bytes"));
  out.bytes.reset(buf);

  size_t done = 0;
  while (done < out.size) {
    const size_t want = std::min(out.size - done, size_t(1) << 30);
    const ssize_t got = ::read(f.fd, buf + done, want);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_os("cannot read", path, errno);
    }
    if (got == 0) throw Error(str("cannot load '", path, "': the file shrank while being read"));
    done += static_cast<size_t>(got);
  }
  // One more byte means the file grew after fstat; the header was checked against the old size.
  uint8_t extra;
  ssize_t more;
  do more = ::read(f.fd, &extra, 1);
  while (more < 0 && errno == EINTR);
  if (more > 0) throw Error(str("cannot load '", path, "': the file grew while being read"));

  try {
    out.header = parse_safetensors_header(buf, out.size);
  } catch (const ValueError& e) {
    throw ValueError(str("cannot load '", path, "': ", e.what()));
  }
  return out;
}

// --- writing ----------------------------------------------------------------------------------

namespace {

struct Prepared {
  std::string head;                                   // length field + JSON + padding
  std::vector<const SafetensorsTensorView*> order;    // file order
};

Prepared prepare(const std::vector<SafetensorsTensorView>& tensors,
                 const SafetensorsMetadata& metadata) {
  Prepared p;
  std::vector<int> rank(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const SafetensorsTensorView& t = tensors[i];
    if (!json::is_valid_utf8(t.name)) fail_tensor(t.name, "name is not valid UTF-8");
    if (t.name == "__metadata__") fail("\"__metadata__\" is reserved and cannot name a tensor");
    rank[i] = dtype_rank(t.dtype);
    if (rank[i] < 0) fail_tensor(t.name, "unknown dtype " + q(t.dtype));
    std::vector<uint64_t> dims;
    for (int64_t d : t.shape) {
      if (d < 0) fail_tensor(t.name, "negative dimension in shape " + shape_str(t.shape));
      dims.push_back(static_cast<uint64_t>(d));
    }
    const uint64_t nbytes = checked_nbytes(t.name, dims, t.dtype, kDTypes[rank[i]].size);
    if (nbytes != t.nbytes)
      fail_tensor(t.name, "shape " + shape_str(t.shape) + " of " + t.dtype + " needs " +
                              std::to_string(nbytes) + " bytes but " + std::to_string(t.nbytes) +
                              " were given");
    if (t.nbytes > 0 && t.data == nullptr) fail_tensor(t.name, "null data pointer");
  }

  // Descending alignment, then name: the reference library's order (see header comment).
  std::vector<size_t> idx(tensors.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = i;
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) {
    return rank[a] != rank[b] ? rank[a] > rank[b] : tensors[a].name < tensors[b].name;
  });
  {
    std::vector<std::string_view> names;
    for (const auto& t : tensors) names.emplace_back(t.name);
    std::sort(names.begin(), names.end());
    auto dup = std::adjacent_find(names.begin(), names.end());
    if (dup != names.end()) fail_tensor(std::string(*dup), "duplicate tensor name");
  }

  std::string j = "{";
  if (!metadata.empty()) {
    std::vector<std::string_view> keys;
    for (const auto& [k, v] : metadata) {
      if (!json::is_valid_utf8(k)) fail("metadata key " + q(k) + " is not valid UTF-8");
      if (!json::is_valid_utf8(v)) fail("metadata value for key " + q(k) + " is not valid UTF-8");
      keys.emplace_back(k);
    }
    std::sort(keys.begin(), keys.end());
    auto dup = std::adjacent_find(keys.begin(), keys.end());
    if (dup != keys.end()) fail("duplicate metadata key " + q(*dup));
    j += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i) j += ',';
      json::write_string(j, metadata[i].first);
      j += ':';
      json::write_string(j, metadata[i].second);
    }
    j += "}";
  }
  uint64_t offset = 0;
  for (size_t i : idx) {
    const SafetensorsTensorView& t = tensors[i];
    if (j.size() > 1) j += ',';
    json::write_string(j, t.name);
    j += ":{\"dtype\":\"";
    j += t.dtype;
    j += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d) {
      if (d) j += ',';
      j += std::to_string(t.shape[d]);
    }
    j += "],\"data_offsets\":[" + std::to_string(offset) + ",";
    if (t.nbytes > std::numeric_limits<uint64_t>::max() - offset)
      fail("total data size exceeds 2^64 bytes");
    offset += t.nbytes;
    j += std::to_string(offset) + "]}";
    p.order.push_back(&t);
  }
  j += '}';
  // Spaces are JSON whitespace; they make 8 + N a multiple of 8 so the data is 8-aligned.
  j.append((8 - j.size() % 8) % 8, ' ');
  if (j.size() > kSafetensorsMaxHeaderBytes)
    fail("header would be " + std::to_string(j.size()) + " bytes, over the " +
         std::to_string(kSafetensorsMaxHeaderBytes) + "-byte limit readers enforce");

  const uint64_t n = j.size();
  p.head.resize(8);
  for (int i = 0; i < 8; ++i) p.head[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  p.head += j;
  return p;
}

}  // namespace

std::vector<uint8_t> serialize_safetensors(const std::vector<SafetensorsTensorView>& tensors,
                                           const SafetensorsMetadata& metadata) {
  const Prepared p = prepare(tensors, metadata);
  size_t total = p.head.size();
  for (const auto* t : p.order) total += t->nbytes;
  std::vector<uint8_t> out;
  out.reserve(total);
  out.insert(out.end(), p.head.begin(), p.head.end());
  for (const auto* t : p.order) {
    const auto* d = static_cast<const uint8_t*>(t->data);
    out.insert(out.end(), d, d + t->nbytes);
  }
  return out;
}

void write_safetensors_file(const std::string& path,
                            const std::vector<SafetensorsTensorView>& tensors,
                            const SafetensorsMetadata& metadata) {
  const Prepared p = prepare(tensors, metadata);
  std::vector<ByteSpan> pieces;
  pieces.reserve(p.order.size() + 1);
  pieces.push_back({p.head.data(), p.head.size()});
  for (const auto* t : p.order)
    if (t->nbytes > 0) pieces.push_back({t->data, t->nbytes});
  atomic_write_file(path, pieces);
}

}  // namespace ember::io
