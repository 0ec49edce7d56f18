// Crash-safe file replacement for everything ember writes (safetensors, checkpoints, histories).
//
// atomic_write_file writes to a fresh temporary file in the target's directory, fsyncs it,
// closes it, rename()s it over the target and fsyncs the directory. A reader (or a crash, or a
// full disk) therefore sees either the complete old file or the complete new one, never a torn
// mix. On failure the temporary file is removed and ember::Error is thrown with the path and
// strerror text; the old target is left untouched.
//
// Notes: the new file gets the default mode (0666 minus umask), not the old file's mode; a
// symlink at `path` is replaced by a regular file, not followed. POSIX only.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace ember::io {

// A borrowed run of bytes; the pieces are written back to back, so a large tensor buffer goes to
// disk without first being copied into one contiguous blob.
struct ByteSpan {
  const void* data;
  size_t size;
};

void atomic_write_file(const std::string& path, const std::vector<ByteSpan>& pieces);
void atomic_write_file(const std::string& path, std::string_view bytes);

}  // namespace ember::io
