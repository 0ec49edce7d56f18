// Fuzz driver for parse_safetensors_header.
//
// The property: every input either parses, and then the header is self-consistent (every range
// inside the buffer, the ranges tiling the data section, sizes matching shapes) and survives a
// write/read round trip, or it throws ember::ValueError. Anything else (a crash, a sanitizer
// report, another exception type, a broken invariant) is a bug; the input is saved as
// fuzz-crash-<n>.safetensors in the working directory.
//
// Two ways to run it:
//  - with libFuzzer: build with clang, -fsanitize=fuzzer,address,undefined -DEMBER_LIBFUZZER;
//  - standalone (default): fuzz_safetensors [-n ITERATIONS] [-s SEED] [-t SECONDS] [FILE...]
//    replays each FILE once, then runs a seeded, structure-aware mutator over built-in valid
//    files (plus the FILEs) and prints what it saw. Same seed, same inputs. Build with
//    -DEMBER_SANITIZE=ON so out-of-bounds reads are caught.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "ember/error.h"
#include "io/json.h"
#include "io/safetensors.h"

using ember::io::SafetensorsEntry;
using ember::io::SafetensorsHeader;

namespace {

// The input under test, saved when something goes wrong.
const uint8_t* g_input = nullptr;
size_t g_input_size = 0;
volatile unsigned g_sink;  // keeps the byte-touching loop in check_header from being optimized out

void save_input() {
  static int n = 0;
  const std::string path = "fuzz-crash-" + std::to_string(n++) + ".safetensors";
  if (FILE* f = std::fopen(path.c_str(), "wb")) {
    if (g_input_size) std::fwrite(g_input, 1, g_input_size, f);
    std::fclose(f);
    std::fprintf(stderr, "input saved to %s (%zu bytes)\n", path.c_str(), g_input_size);
  }
}

[[noreturn]] void invariant_failed(const char* what) {
  std::fprintf(stderr, "fuzz_safetensors: invariant broken: %s\n", what);
  save_input();
  std::abort();
}

#define REQUIRE(cond)                      \
  do {                                     \
    if (!(cond)) invariant_failed(#cond);  \
  } while (0)

// Everything a successful parse promises, checked independently of the parser's own code.
void check_header(const SafetensorsHeader& h, const uint8_t* data, size_t size) {
  REQUIRE(size >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | data[i];
  REQUIRE(n <= ember::io::kSafetensorsMaxHeaderBytes);
  REQUIRE(h.data_start == 8 + n && h.data_start <= size);
  REQUIRE(h.data_size == size - h.data_start);
  REQUIRE(h.json_order.size() == h.entries.size());
  std::vector<bool> seen(h.entries.size(), false);
  for (size_t pos : h.json_order) {
    REQUIRE(pos < h.entries.size() && !seen[pos]);
    seen[pos] = true;
  }
  uint64_t expected = 0;
  unsigned checksum = 0;
  for (const SafetensorsEntry& e : h.entries) {
    REQUIRE(e.name != "__metadata__");
    REQUIRE(ember::json::is_valid_utf8(e.name));
    const size_t itemsize = ember::io::safetensors_dtype_size(e.dtype);
    REQUIRE(itemsize > 0);
    REQUIRE(e.begin == expected && e.begin <= e.end && e.end <= h.data_size);
    expected = e.end;
    unsigned __int128 numel = 1;
    for (int64_t d : e.shape) REQUIRE(d >= 0);
    for (int64_t d : e.shape) {
      numel *= static_cast<unsigned __int128>(d);
      if (numel == 0) break;
      REQUIRE(numel <= static_cast<unsigned __int128>(INT64_MAX));
    }
    REQUIRE(numel * itemsize == e.end - e.begin);
    // Touch every byte so a sanitizer sees any range that leaves the buffer.
    const uint8_t* p = data + h.data_start + e.begin;
    for (uint64_t i = 0; i < e.nbytes(); ++i) checksum += p[i];
  }
  REQUIRE(expected == h.data_size);
  for (const auto& [k, v] : h.metadata)
    REQUIRE(ember::json::is_valid_utf8(k) && ember::json::is_valid_utf8(v));
  g_sink = checksum;
}

// Whatever parsed must be writable, and read back as the same tensors.
void check_roundtrip(const SafetensorsHeader& h, const uint8_t* data) {
  std::vector<ember::io::SafetensorsTensorView> views;
  for (const SafetensorsEntry& e : h.entries)
    views.push_back({e.name, e.dtype, e.shape, data + h.data_start + e.begin, e.nbytes()});
  const std::vector<uint8_t> bytes = ember::io::serialize_safetensors(views, h.metadata);
  const SafetensorsHeader back = ember::io::parse_safetensors_header(bytes.data(), bytes.size());
  REQUIRE(back.entries.size() == h.entries.size());
  REQUIRE(back.metadata == h.metadata);
  for (const SafetensorsEntry& e : h.entries) {
    const SafetensorsEntry* f = back.find(e.name);
    REQUIRE(f != nullptr && f->dtype == e.dtype && f->shape == e.shape);
    REQUIRE(f->nbytes() == e.nbytes());
    REQUIRE(e.nbytes() == 0 || std::memcmp(bytes.data() + back.data_start + f->begin,
                                           data + h.data_start + e.begin, e.nbytes()) == 0);
  }
}

// Runs one input. Returns true when it parsed; puts the message in *error when it was rejected.
bool run_one(const uint8_t* data, size_t size, std::string* error) {
  g_input = data;
  g_input_size = size;
  SafetensorsHeader h;
  try {
    h = ember::io::parse_safetensors_header(data, size);
  } catch (const ember::ValueError& e) {  // the documented failure; anything else escapes
    if (error) *error = e.what();
    if (!ember::json::is_valid_utf8(e.what())) invariant_failed("error message is not UTF-8");
    return false;
  }
  check_header(h, data, size);
  check_roundtrip(h, data);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  run_one(data, size, nullptr);
  return 0;
}

#ifndef EMBER_LIBFUZZER

namespace {

using Bytes = std::string;  // binary-safe and easy to splice

Bytes le64(uint64_t n) {
  Bytes s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

Bytes raw_file(const std::string& json, size_t data_bytes) {
  return le64(json.size()) + json + Bytes(data_bytes, '\x42');
}

std::vector<Bytes> builtin_seeds() {
  using V = ember::io::SafetensorsTensorView;
  static const float f[6] = {1, 2, 3, 4, 5, 6};
  static const int64_t i[3] = {1, -2, 3};
  static const uint8_t b[4] = {1, 0, 1, 1};
  static const double d = 0.5;
  auto ser = [](const std::vector<V>& v, const ember::io::SafetensorsMetadata& m) {
    const auto out = ember::io::serialize_safetensors(v, m);
    return Bytes(out.begin(), out.end());
  };
  std::vector<Bytes> seeds;
  seeds.push_back(ser({{"weight", "F32", {2, 3}, f, 24},
                       {"bias", "F32", {3}, f, 12},
                       {"idx", "I64", {3}, i, 24},
                       {"mask", "BOOL", {3}, b, 3},
                       {"scalar", "F64", {}, &d, 8},
                       {"empty", "F32", {0, 4}, nullptr, 0}},
                      {{"format", "pt"}, {"epoch", "3"}}));
  seeds.push_back(ser({{"a", "U8", {3}, b, 3}}, {}));
  seeds.push_back(ser({}, {}));
  seeds.push_back(ser({{"h", "F16", {3}, f, 6}, {"bf", "BF16", {2}, f, 4}, {"c", "C64", {1}, f, 8},
                       {"q", "F8_E4M3", {2, 2}, b, 4}, {"u", "U32", {1}, f, 4}},
                      {{"k", "v\n\"q\" \xC3\xA9"}}));
  // Hand-written: escapes, out-of-order ranges, unknown keys, whitespace, big numbers.
  seeds.push_back(raw_file(
      R"( {"w\u00e9\ud83d\ude00" : {"dtype":"I32", "shape":[2], "data_offsets":[8,16]},)"
      R"( "first":{"dtype":"U16","shape":[2,2],"data_offsets":[0,8],"x":[1.5e3,null,{}]},)"
      R"( "z":{"dtype":"U64","shape":[0,5],"data_offsets":[16,16]},)"
      R"( "__metadata__":{"a\"b":"\\","":""}}    )",
      16));
  seeds.push_back(raw_file(
      R"({"t":{"dtype":"I8","shape":[0,9223372036854775807],"data_offsets":[0,0]},)"
      R"("u":{"dtype":"I16","shape":[],"data_offsets":[0,2]}})",
      2));
  return seeds;
}

const char* kTokens[] = {
    "0", "1", "-1", "-0", "7", "8", "255", "4294967296", "9223372036854775807",
    "9223372036854775808", "18446744073709551615", "18446744073709551616", "1e308", "1e999",
    "1.5", "2.0", "-9223372036854775808", "\"F32\"", "\"BOOL\"", "\"C64\"", "\"F4\"", "\"\"",
    "null", "true", "[]", "{}", "[0,0]", ",", ":", "\"", "\\", "\\u", "\\ud800", "\\udc00",
    "\\u0000", "\"__metadata__\"", "\"dtype\"", "\"shape\"", "\"data_offsets\"", "[[[[[[[[",
    "]]]]", "}}", " ", "\xC3\xA9", "\xFF", "\xED\xA0\x80", "\xF0\x9F\x98\x80", "\x00",
};
const char* kDTypeNames[] = {"F16", "BF16", "F32", "F64", "I8", "I16", "I32", "I64", "U8",
                             "U16", "U32", "U64", "BOOL", "C64", "F8_E5M2", "F8_E8M0", "F4",
                             "F6_E2M3", "f32", "", "F32 "};

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : rng_(seed) {}

  uint64_t below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }

  // A number string near an interesting boundary.
  std::string number() {
    switch (below(6)) {
      case 0: return std::to_string(below(64));
      case 1: return std::to_string(below(1u << 20));
      case 2: return std::to_string(rng_());
      case 3: return std::to_string((uint64_t(1) << below(64)) + below(3) - 1);
      case 4: return "-" + std::to_string(below(100));
      default: return std::to_string(UINT64_MAX - below(4)) + (chance(50) ? "0" : "");
    }
  }

  void mutate_json(std::string& j) {
    switch (below(9)) {
      case 0:  // bit flip
        if (!j.empty()) j[below(j.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1: {  // replace a byte with a structural or random one
        if (j.empty()) break;
        const char structural[] = "{}[]\":,\\-0123456789eE.+ u";
        j[below(j.size())] = chance(70) ? structural[below(sizeof structural - 1)]
                                        : static_cast<char>(below(256));
        break;
      }
      case 2: {  // insert a token
        const char* t = kTokens[below(std::size(kTokens))];
        const size_t len = t[0] == '\0' ? 1 : std::strlen(t);
        j.insert(below(j.size() + 1), t, len);
        break;
      }
      case 3: {  // delete a range
        if (j.empty()) break;
        const size_t at = below(j.size());
        j.erase(at, 1 + below(16));
        break;
      }
      case 4: {  // duplicate a range elsewhere (duplicate keys, repeated entries)
        if (j.empty()) break;
        const size_t at = below(j.size());
        const std::string piece = j.substr(at, 1 + below(64));
        j.insert(below(j.size() + 1), piece);
        break;
      }
      case 5:
      case 6: {  // rewrite a run of digits: the offsets and dims are what matter most
        std::vector<size_t> starts;
        for (size_t i = 0; i < j.size(); ++i)
          if (j[i] >= '0' && j[i] <= '9' && (i == 0 || j[i - 1] < '0' || j[i - 1] > '9'))
            starts.push_back(i);
        if (starts.empty()) break;
        const size_t at = starts[below(starts.size())];
        size_t end = at;
        while (end < j.size() && j[end] >= '0' && j[end] <= '9') ++end;
        const uint64_t old = std::strtoull(j.substr(at, end - at).c_str(), nullptr, 10);
        std::string repl;
        switch (below(4)) {
          case 0: repl = number(); break;
          case 1: repl = std::to_string(old + below(9) - 4); break;  // may wrap: fine
          case 2: repl = std::to_string(old * (1 + below(4))); break;
          default: repl = ""; break;
        }
        j.replace(at, end - at, repl);
        break;
      }
      case 7: {  // another dtype
        const size_t at = j.find("\"dtype\"", below(j.size() + 1));
        const size_t q1 = at == std::string::npos ? at : j.find('"', at + 8);
        const size_t q2 = q1 == std::string::npos ? q1 : j.find('"', q1 + 1);
        if (q2 == std::string::npos) break;
        j.replace(q1 + 1, q2 - q1 - 1, kDTypeNames[below(std::size(kDTypeNames))]);
        break;
      }
      default: {  // truncate
        if (!j.empty()) j.resize(below(j.size()));
        break;
      }
    }
  }

  void mutate_raw(Bytes& b) {
    switch (below(5)) {
      case 0:
        if (!b.empty()) b[below(b.size())] ^= static_cast<char>(1u << below(8));
        break;
      case 1:
        if (!b.empty()) b[below(b.size())] = static_cast<char>(below(256));
        break;
      case 2: b.insert(below(b.size() + 1), Bytes(1 + below(8), static_cast<char>(below(256)))); break;
      case 3:
        if (!b.empty()) b.erase(below(b.size()), 1 + below(16));
        break;
      default:
        b.resize(below(b.size() + 1));
        break;
    }
  }

  Bytes mutate(const Bytes& seed) {
    std::string json;
    Bytes data;
    bool structured = false;
    if (seed.size() >= 8) {
      uint64_t n = 0;
      for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(seed[i]);
      if (n <= seed.size() - 8) {
        json = seed.substr(8, n);
        data = seed.substr(8 + n);
        structured = true;
      }
    }
    Bytes out;
    if (structured) {
      const int steps = 1 + static_cast<int>(below(4));
      for (int s = 0; s < steps; ++s) {
        if (chance(80)) {
          mutate_json(json);
        } else if (chance(50)) {  // grow or shrink the data section
          if (chance(50)) data.append(1 + below(16), '\x5a');
          else data.resize(data.size() - std::min<size_t>(data.size(), 1 + below(16)));
        } else if (!data.empty()) {
          data[below(data.size())] ^= 1;
        }
      }
      uint64_t n = json.size();
      if (chance(12)) {  // lie in the length field
        const uint64_t lies[] = {0, 1, n - 1, n + 1, n + 8, n + data.size(), n + data.size() + 1,
                                 ember::io::kSafetensorsMaxHeaderBytes,
                                 ember::io::kSafetensorsMaxHeaderBytes + 1, UINT64_MAX,
                                 uint64_t(1) << 63, rng_()};
        n = lies[below(std::size(lies))];
      }
      out = le64(n) + json + data;
    } else {
      out = seed;
    }
    if (!structured || chance(15)) {
      const int steps = 1 + static_cast<int>(below(3));
      for (int s = 0; s < steps; ++s) mutate_raw(out);
    }
    return out;
  }

 private:
  std::mt19937_64 rng_;
};

// "tensor 'w': data_offsets [0, 8] ... of F32 needs 24" -> "tensor '_': data_offsets [..] ... of
// T needs N", so messages group by kind of failure.
std::string category(const std::string& msg) {
  std::string out;
  size_t i = 0;
  while (i < msg.size() && out.size() < 110) {
    const char c = msg[i];
    if (c == '\'' || c == '[') {  // quoted names and bracketed lists
      const char close = c == '[' ? ']' : '\'';
      const size_t end = msg.find(close, i + 1);
      if (end == std::string::npos) break;
      out += c == '[' ? "[..]" : "'_'";
      i = end + 1;
      continue;
    }
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {  // numbers and dtype names
      size_t end = i;
      while (end < msg.size() && ((msg[end] >= 'A' && msg[end] <= 'Z') ||
                                  (msg[end] >= '0' && msg[end] <= '9') || msg[end] == '_'))
        ++end;
      const std::string word = msg.substr(i, end - i);
      const bool digits = word.find_first_not_of("0123456789") == std::string::npos;
      out += digits ? "N" : (word == "JSON" || word == "UTF") ? word : "T";
      i = end;
      continue;
    }
    out += c;
    ++i;
  }
  return out;
}

void on_terminate() {
  std::fprintf(stderr, "fuzz_safetensors: uncaught exception (not ember::ValueError)");
  if (auto ep = std::current_exception()) {
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      std::fprintf(stderr, ": %s", e.what());
    } catch (...) {
    }
  }
  std::fprintf(stderr, "\n");
  save_input();
  std::abort();
}

}  // namespace

extern "C" void __sanitizer_set_death_callback(void (*)(void)) __attribute__((weak));

int main(int argc, char** argv) {
  uint64_t iterations = 200000;
  uint64_t seed = 1;
  double seconds = 0;  // 0: no time limit
  std::vector<std::string> files;
  for (int a = 1; a < argc; ++a) {
    const std::string arg = argv[a];
    if ((arg == "-n" || arg == "-s" || arg == "-t") && a + 1 < argc) {
      const char* v = argv[++a];
      if (arg == "-n") iterations = std::strtoull(v, nullptr, 10);
      if (arg == "-s") seed = std::strtoull(v, nullptr, 10);
      if (arg == "-t") seconds = std::strtod(v, nullptr);
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [-n ITERATIONS] [-s SEED] [-t SECONDS] [FILE...]\n", argv[0]);
      return 0;
    } else {
      files.push_back(arg);
    }
  }
  std::set_terminate(on_terminate);
  if (__sanitizer_set_death_callback) __sanitizer_set_death_callback(save_input);

  std::vector<Bytes> seeds = builtin_seeds();
  for (const Bytes& s : seeds) {
    std::string err;
    if (!run_one(reinterpret_cast<const uint8_t*>(s.data()), s.size(), &err)) {
      std::fprintf(stderr, "built-in seed rejected: %s\n", err.c_str());
      return 1;
    }
  }
  for (const std::string& path : files) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "cannot read %s\n", path.c_str());
      return 1;
    }
    Bytes b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Exactly-sized copy so an over-read is a sanitizer report, not a read of spare capacity.
    std::vector<uint8_t> exact(b.begin(), b.end());
    std::string err;
    const bool ok = run_one(exact.data(), exact.size(), &err);
    std::printf("%s: %s\n", path.c_str(), ok ? "parsed" : err.c_str());
    seeds.push_back(b);
  }

  Mutator m(seed);
  std::vector<Bytes> pool;  // mutants that parsed: valid starting points further away
  std::map<std::string, uint64_t> kinds;
  uint64_t parsed = 0, rejected = 0, done = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (; done < iterations; ++done) {
    if (seconds > 0 && done % 1024 == 0 &&
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > seconds)
      break;
    const Bytes& base = !pool.empty() && m.chance(30) ? pool[m.below(pool.size())]
                                                      : seeds[m.below(seeds.size())];
    const Bytes input = m.mutate(base);
    std::unique_ptr<uint8_t[]> exact(new uint8_t[input.size() ? input.size() : 1]);
    std::memcpy(exact.get(), input.data(), input.size());
    std::string err;
    if (run_one(exact.get(), input.size(), &err)) {
      ++parsed;
      if (pool.size() < 512) pool.push_back(input);
      else pool[m.below(pool.size())] = input;
    } else {
      ++rejected;
      ++kinds[category(err)];
    }
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<std::pair<uint64_t, std::string>> top;
  for (const auto& [k, n] : kinds) top.emplace_back(n, k);
  std::sort(top.rbegin(), top.rend());
  std::printf("fuzz_safetensors: seed %llu, %llu inputs in %.1f s: %llu parsed, %llu rejected "
              "with ember::ValueError, 0 crashes; %zu kinds of rejection:\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(done), secs,
              static_cast<unsigned long long>(parsed), static_cast<unsigned long long>(rejected),
              top.size());
  for (size_t i = 0; i < top.size(); ++i)
    std::printf("  %9llu  %s\n", static_cast<unsigned long long>(top[i].first),
                top[i].second.c_str());
  return 0;
}

#endif  // EMBER_LIBFUZZER
