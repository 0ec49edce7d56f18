// The safetensors file format (huggingface/safetensors), on bytes and plain structs; the tensor
// layer wraps it into ember.save / ember.load.
//
// Layout: an 8-byte little-endian u64 N, then N bytes of UTF-8 JSON, then the data section.
// The JSON is an object mapping each tensor name to
//   {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}
// (offsets relative to the first byte after the header) plus an optional "__metadata__" object
// of string -> string.
//
// Reading treats the file as hostile. parse_safetensors_header checks, against the real size:
// the length field (at most 100 MB, inside the file), strict JSON (UTF-8, no duplicate keys, no
// trailing data), the type of every field, known dtypes, shape products and byte sizes without
// overflow, each range inside the data section with size == numel * itemsize, and that the
// ranges, sorted, tile the data section exactly: no gap, no overlap, nothing left over. Any
// failure throws ember::ValueError naming the tensor and the problem; a parsed header can be
// used to index the buffer without further checks.
//
// Writing follows the reference library: tensors ordered by descending dtype alignment, then by
// name (byte order), so every tensor's data is aligned to its element size in the file; the
// header JSON lists "__metadata__" first (when non-empty), then the tensors in file order, and
// is padded with spaces so the data section starts at a multiple of 8. Files are replaced
// atomically (io/atomic_file.h).
//
// Data is raw little-endian bytes; the host must be little-endian (checked at compile time).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ember::io {

// The reference library's limit on the JSON header.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// Bytes per element of a safetensors dtype name ("F32" -> 4, "BOOL" -> 1), 0 when unknown.
// Known: BOOL U8 I8 I16 U16 I32 U32 I64 U64 F16 BF16 F32 F64 C64 and the one-byte floats
// F8_E5M2 F8_E4M3 F8_E8M0 F8_E4M3FNUZ F8_E5M2FNUZ. The sub-byte F4/F6_* types are not supported.
size_t safetensors_dtype_size(std::string_view dtype);

using SafetensorsMetadata = std::vector<std::pair<std::string, std::string>>;

struct SafetensorsEntry {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;  // [] is a 0-d tensor (one element)
  uint64_t begin = 0;          // byte range [begin, end) relative to the data section
  uint64_t end = 0;

  uint64_t nbytes() const { return end - begin; }
};

struct SafetensorsHeader {
  std::vector<SafetensorsEntry> entries;  // in file-offset order (by begin, then end)
  std::vector<size_t> json_order;         // entries[json_order[i]] is the i-th tensor in the JSON
  SafetensorsMetadata metadata;           // "__metadata__", in JSON order
  uint64_t data_start = 0;                // 8 + N: file offset of the data section
  uint64_t data_size = 0;                 // bytes in the data section (the rest of the file)

  // Linear search by name; nullptr when absent.
  const SafetensorsEntry* find(std::string_view name) const;
};

// Parses and validates the header of the complete file held in bytes[0, size).
SafetensorsHeader parse_safetensors_header(const uint8_t* bytes, size_t size);

// A whole file read into memory (not mmap: a file truncated by another process while mapped
// kills the reader with SIGBUS; a copy cannot change under us).
struct SafetensorsFile {
  SafetensorsHeader header;
  std::shared_ptr<uint8_t[]> bytes;  // the whole file, header included
  size_t size = 0;

  // First byte of an entry's data. The range [data(e), data(e) + e.nbytes()) is inside `bytes`.
  const uint8_t* data(const SafetensorsEntry& e) const {
    return bytes.get() + header.data_start + e.begin;
  }
};

// Reads and validates a file. ember::ValueError for a malformed file (message starts with the
// path), ember::Error for OS failures (with strerror), ember::OutOfMemoryError if the buffer
// cannot be allocated.
SafetensorsFile load_safetensors_file(const std::string& path);

// One tensor to write: `data` points at `nbytes` bytes of C-contiguous little-endian elements.
struct SafetensorsTensorView {
  std::string name;
  std::string dtype;  // a safetensors dtype name, e.g. "F32"
  std::vector<int64_t> shape;
  const void* data = nullptr;
  size_t nbytes = 0;
};

// The complete file in memory. ember::ValueError for bad input: duplicate or reserved
// ("__metadata__") names, names / metadata that are not UTF-8, unknown dtypes, negative dims,
// nbytes != numel * itemsize, duplicate metadata keys.
std::vector<uint8_t> serialize_safetensors(const std::vector<SafetensorsTensorView>& tensors,
                                           const SafetensorsMetadata& metadata = {});

// Same bytes, written atomically to `path` (temp file, fsync, rename, fsync of the directory).
void write_safetensors_file(const std::string& path,
                            const std::vector<SafetensorsTensorView>& tensors,
                            const SafetensorsMetadata& metadata = {});

}  // namespace ember::io
