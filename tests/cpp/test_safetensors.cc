// Tests of io/json, io/safetensors and io/atomic_file: round trips, the reference library's
// byte layout, and every kind of hostile file producing ember::ValueError instead of a crash.
// Build with -DEMBER_SANITIZE=ON to have out-of-bounds reads caught as well: inputs are copied
// into exactly-sized heap buffers so reading one byte past the end trips AddressSanitizer.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "ember/error.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "io/safetensors.h"

using namespace ember;
using namespace ember::io;

namespace {

int g_passed = 0;
int g_failed = 0;

void record(bool ok, const std::string& what, int line) {
  if (ok) {
    ++g_passed;
  } else {
    ++g_failed;
    std::fprintf(stderr, "FAIL (line %d): %s\n", line, what.c_str());
  }
}

#define CHECK(cond) record((cond), #cond, __LINE__)

// Runs fn and checks it throws exactly kind E (not merely a base) whose message contains every
// needle. Returns the message.
template <typename E>
std::string expect_throw(int line, const std::string& label, const std::function<void()>& fn,
                         std::initializer_list<const char*> needles = {}) {
  try {
    fn();
  } catch (const E& e) {
    std::string msg = e.what();
    bool ok = true;
    for (const char* n : needles)
      if (msg.find(n) == std::string::npos) ok = false;
    // A ValueError expected must not be satisfied by an OS-level Error and vice versa.
    if (std::is_same_v<E, Error> && dynamic_cast<const ValueError*>(&e)) ok = false;
    if (!json::is_valid_utf8(msg)) ok = false;
    record(ok, label + ": message was \"" + msg + "\"", line);
    // EMBER_TEST_VERBOSE=1 shows every message, to read them for clarity.
    if (std::getenv("EMBER_TEST_VERBOSE")) std::printf("%-36s %s\n", label.c_str(), msg.c_str());
    return msg;
  } catch (const std::exception& e) {
    record(false, label + ": wrong exception type: " + e.what(), line);
    return {};
  }
  record(false, label + ": did not throw", line);
  return {};
}

#define EXPECT_VALUE_ERROR(label, expr, ...) \
  expect_throw<ValueError>(__LINE__, label, [&] { expr; }, {__VA_ARGS__})
#define EXPECT_OS_ERROR(label, expr, ...) \
  expect_throw<Error>(__LINE__, label, [&] { expr; }, {__VA_ARGS__})

// --- helpers ----------------------------------------------------------------------------------

// Parses text from a heap buffer of exactly text.size() bytes (no terminating NUL to lean on).
json::Value parse_exact(const std::string& text, const json::ParseOptions& opt = {}) {
  std::unique_ptr<char[]> buf(new char[text.size() ? text.size() : 1]);
  std::memcpy(buf.get(), text.data(), text.size());
  return json::parse(std::string_view(buf.get(), text.size()), opt);
}

SafetensorsHeader parse_st(const std::string& bytes) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bytes.size() ? bytes.size() : 1]);
  std::memcpy(buf.get(), bytes.data(), bytes.size());
  return parse_safetensors_header(buf.get(), bytes.size());
}

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A file from a JSON header and a data section; the length field is right unless given.
std::string make_file(const std::string& header, size_t data_bytes) {
  return le64(header.size()) + header + std::string(data_bytes, '\x5a');
}

std::string to_string(const std::vector<uint8_t>& v) { return std::string(v.begin(), v.end()); }

struct TempDir {
  std::string path;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/ember_st_test.XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(2);
    }
    path = buf.data();
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::vector<std::string> list() const {
    std::vector<std::string> names;
    if (DIR* d = ::opendir(path.c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..")) names.push_back(e->d_name);
      ::closedir(d);
    }
    return names;
  }
};

std::string read_file(const std::string& path) {
  std::string out;
  if (FILE* f = std::fopen(path.c_str(), "rb")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    std::fclose(f);
  }
  return out;
}

// --- JSON -------------------------------------------------------------------------------------

void test_json_values() {
  json::Value v = parse_exact(R"( {"a": [1, -2, 3.5, true, false, null], "b": {"c": "d"}} )");
  CHECK(v.is_object());
  CHECK(v.as_object().size() == 2 && v.as_object()[0].first == "a");
  const json::Array& a = v.find("a")->as_array();
  CHECK(a.size() == 6);
  CHECK(a[0].to_u64() == 1u && a[1].to_i64() == -2 && !a[1].to_u64());
  CHECK(a[2].as_double() == 3.5 && !a[2].as_number().is_integer && !a[2].to_u64());
  CHECK(a[3].as_bool() && !a[4].as_bool() && a[5].is_null());
  CHECK(v.find("b")->find("c")->as_string() == "d");
  CHECK(v.find("missing") == nullptr);
}

void test_json_integers() {
  // Offsets can exceed 2^53: no trip through double.
  CHECK(parse_exact("18446744073709551615").to_u64() == UINT64_MAX);
  CHECK(parse_exact("9007199254740993").to_u64() == 9007199254740993ull);
  CHECK(!parse_exact("18446744073709551616").to_u64());
  CHECK(parse_exact("18446744073709551616").is_number());
  CHECK(parse_exact("-9223372036854775808").to_i64() == INT64_MIN);
  CHECK(!parse_exact("-9223372036854775809").to_i64());
  CHECK(parse_exact("9223372036854775807").to_i64() == INT64_MAX);
  CHECK(!parse_exact("9223372036854775808").to_i64());
  CHECK(parse_exact("-0").to_u64() == 0u);
  CHECK(!parse_exact("1e2").to_u64() && parse_exact("1e2").as_double() == 100.0);
  CHECK(!parse_exact("1.0").to_u64());
  CHECK(parse_exact("1E-2").as_double() == 0.01);
  CHECK(parse_exact("-1.25e+1").as_double() == -12.5);
}

void test_json_strings() {
  CHECK(parse_exact(R"("\"\\\/\b\f\n\r\t")").as_string() == "\"\\/\b\f\n\r\t");
  CHECK(parse_exact(R"("\u00e9")").as_string() == "\xC3\xA9");
  CHECK(parse_exact(R"("\u20AC")").as_string() == "\xE2\x82\xAC");
  CHECK(parse_exact(R"("\ud83d\ude00")").as_string() == "\xF0\x9F\x98\x80");  // U+1F600
  CHECK(parse_exact(R"("\u0000")").as_string() == std::string(1, '\0'));
  CHECK(parse_exact("\"caf\xC3\xA9 \xF0\x9F\x98\x80\"").as_string() == "caf\xC3\xA9 \xF0\x9F\x98\x80");
  CHECK(parse_exact("\"\x7f\"").as_string() == "\x7f");
}

void test_json_rejects() {
  const char* bad[] = {
      "", " ", "{", "}", "[", "[1,]", "[,1]", R"({"a":1,})", "[1 2]", R"({"a" 1})", R"({1:2})",
      R"(["a":1])", "01", "-01", "1.", ".5", "-", "1e", "1e+", "+1", "0x10", "tru", "nul", "nulll",
      "True", "NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1e-400", R"("abc)", R"("\x")",
      R"("\u12")", R"("\u12G4")", R"("\ud800")", R"("\udc00")", R"("\ud800\u0041")",
      R"("\ud800\ud800")", R"("\ud800x")", "\"a\nb\"", "\"a\tb\"", "\"\xff\"", "\"\xc0\xaf\"",
      "\"\xe0\x80\xaf\"", "\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xf8\x88\x80\x80\x80\"",
      "\"\xc3\"", "\"\xe2\x82\"", "\"\x80\"", "{} x", "{}{}", "[] ]", "\xef\xbb\xbf{}",
      R"({"a":1,"a":2})", R"({"a":{"b":1,"c":2,"b":3}})", "/*c*/1", "'a'",
      "[\"a\"\x0b]", "\x0c[]",
  };
  for (const char* text : bad)
    EXPECT_VALUE_ERROR(std::string("reject ") + json::quote_for_message(text), parse_exact(text),
                       "JSON: ");
  // NUL inside the input is data, not an end marker.
  EXPECT_VALUE_ERROR("embedded NUL", parse_exact(std::string("[1,\0 2]", 7)), "JSON: ");
  EXPECT_VALUE_ERROR("trailing NUL", parse_exact(std::string("[1]\0", 4)), "after the JSON value");
  std::string dup_msg = EXPECT_VALUE_ERROR("duplicate key", parse_exact(R"({"w":1,"w":2})"),
                                           "duplicate key 'w'");
}

void test_json_limits() {
  json::ParseOptions opt;
  opt.max_depth = 128;
  CHECK(parse_exact(std::string(128, '[') + std::string(128, ']'), opt).is_array());
  EXPECT_VALUE_ERROR("too deep", parse_exact(std::string(129, '[') + std::string(129, ']'), opt),
                     "nesting deeper than 128");
  // Deep input far beyond the limit must not recurse into a stack overflow.
  EXPECT_VALUE_ERROR("very deep", parse_exact(std::string(1000000, '[')), "nesting");
  EXPECT_VALUE_ERROR("very deep objects", [&] {
    std::string s;
    for (int i = 0; i < 100000; ++i) s += "{\"a\":";
    parse_exact(s);
  }(), "nesting");
  opt.max_values = 4;
  CHECK(parse_exact("[1,2,3]", opt).as_array().size() == 3);  // 4 values with the array
  EXPECT_VALUE_ERROR("too many values", parse_exact("[1,2,3,4]", opt), "more than 4 values");
}

void test_json_truncation() {
  // Every proper prefix of a valid document is an error, never a read past its end.
  const std::string doc =
      R"({"k\u00e9y": [1, -2.5e-3, true, false, null, "s\"\\\ud83d\ude00", {"x": {}}, []], )"
      "\"\xC3\xA9\": 18446744073709551615}";
  CHECK(parse_exact(doc).is_object());
  int failures = 0;
  for (size_t n = 0; n < doc.size(); ++n) {
    try {
      parse_exact(doc.substr(0, n));
      ++failures;
    } catch (const ValueError&) {
    }
  }
  CHECK(failures == 0);
}

void test_json_writer() {
  json::Object obj;
  obj.emplace_back("s", std::string("q\"b\\n\n\x01\x1f\x7f \xC3\xA9/"));
  obj.emplace_back("u", UINT64_MAX);
  obj.emplace_back("i", INT64_MIN);
  obj.emplace_back("d", 0.1);
  obj.emplace_back("z", json::Value(json::Array{json::Value(true), json::Value(nullptr)}));
  const std::string text = json::dump(json::Value(obj));
  CHECK(text == R"({"s":"q\"b\\n\n\u0001\u001f)" "\x7f" R"( )" "\xC3\xA9" R"(/","u":18446744073709551615,)"
                R"("i":-9223372036854775808,"d":0.1,"z":[true,null]})");
  const json::Value back = parse_exact(text);
  CHECK(back.find("s")->as_string() == obj[0].second.as_string());
  CHECK(back.find("u")->to_u64() == UINT64_MAX);
  CHECK(back.find("i")->to_i64() == INT64_MIN);
  CHECK(back.find("d")->as_double() == 0.1);
  // Every code unit from 1 to 127 survives a round trip.
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  CHECK(parse_exact(json::dump(json::Value(all))).as_string() == all);

  CHECK(json::dump(json::Value(2.0)) == "2.0" && json::dump(json::Value(-1e300)) == "-1e+300");
  CHECK(json::dump(parse_exact("[1.0,2,-0.0,1E2]")) == "[1.0,2,-0.0,100.0]");
  EXPECT_VALUE_ERROR("dump invalid UTF-8", json::dump(json::Value(std::string("\xff"))), "UTF-8");
  EXPECT_VALUE_ERROR("dump NaN", json::dump(json::Value(std::nan(""))), "NaN");
  EXPECT_VALUE_ERROR("dump inf", json::dump(json::Value(HUGE_VAL)), "infinity");
  json::Object dup;
  dup.emplace_back("a", 1);
  dup.emplace_back("a", 2);
  EXPECT_VALUE_ERROR("dump duplicate keys", json::dump(json::Value(dup)), "duplicate key 'a'");

  // Messages: escaped, and cut only at character boundaries.
  CHECK(json::quote_for_message("a\xff") == "'a\\xff'");
  const std::string long_name = std::string(79, 'x') + "\xC3\xA9" + "tail";
  const std::string m = json::quote_for_message(long_name, 80);
  CHECK(json::is_valid_utf8(m) && m == "'" + std::string(79, 'x') + "'...");
}

void test_json_type_errors() {
  const json::Value v = parse_exact("1");
  expect_throw<TypeError>(__LINE__, "as_string on a number", [&] { (void)v.as_string(); },
                          {"expected string, got number"});
}

// --- safetensors: writing and reading back ---------------------------------------------------

struct Fixture {
  std::vector<float> w{1, 2, 3, 4, 5, 6};
  std::vector<int64_t> idx{7, -8, 9, 1LL << 40};
  std::vector<uint8_t> mask{1, 0, 1};
  double scalar = 3.25;
  std::vector<SafetensorsTensorView> views() const {
    return {
        {"layer.0/weight \"q\" \\ \xC3\xA9\xF0\x9F\x98\x80", "F32", {2, 3}, w.data(), 24},
        {"idx", "I64", {4}, idx.data(), 32},
        {"mask", "BOOL", {3}, mask.data(), 3},
        {"scalar", "F64", {}, &scalar, 8},
        {"empty", "F32", {0, 5}, nullptr, 0},
        {"empty_u8", "U8", {0}, nullptr, 0},
    };
  }
};

void check_matches(const SafetensorsHeader& h, const uint8_t* file,
                   const std::vector<SafetensorsTensorView>& views) {
  CHECK(h.entries.size() == views.size());
  for (const auto& v : views) {
    const SafetensorsEntry* e = h.find(v.name);
    CHECK(e != nullptr);
    if (!e) continue;
    CHECK(e->dtype == v.dtype);
    CHECK(e->shape == v.shape);
    CHECK(e->nbytes() == v.nbytes);
    CHECK(v.nbytes == 0 || std::memcmp(file + h.data_start + e->begin, v.data, v.nbytes) == 0);
    // Writers order by alignment, so each tensor is aligned to its element size in the file.
    CHECK((h.data_start + e->begin) % safetensors_dtype_size(e->dtype) == 0);
  }
}

void test_roundtrip_memory() {
  Fixture fx;
  const auto views = fx.views();
  const SafetensorsMetadata meta{{"format", "pt"}, {"note", "line\nbreak \xC3\xA9"}, {"a", ""}};
  const std::string bytes = to_string(serialize_safetensors(views, meta));
  const SafetensorsHeader h = parse_st(bytes);
  check_matches(h, reinterpret_cast<const uint8_t*>(bytes.data()), views);
  CHECK(h.metadata == meta);
  CHECK(h.data_start % 8 == 0);
  CHECK(h.data_start + h.data_size == bytes.size());
  // File order: 8-byte dtypes first (I64 before F64, the reference's enum order), then F32, then
  // the one-byte ones; ties by name.
  std::vector<std::string> order;
  for (const auto& e : h.entries) order.push_back(e.name);
  CHECK((order == std::vector<std::string>{"idx", "scalar", "empty", views[0].name, "empty_u8",
                                           "mask"}));
  // The header lists tensors in file order too, so json_order is the identity here.
  for (size_t i = 0; i < h.json_order.size(); ++i) CHECK(h.json_order[i] == i);
  // Nothing but spaces pads the JSON.
  const std::string json_text = bytes.substr(8, h.data_start - 8);
  CHECK(json_text.find_last_not_of(' ') == json_text.rfind('}'));
}

void test_reference_layout() {
  // The byte layout the reference library's own tests expect for one F32 tensor [1, 2, 3]
  // holding 0..5: a 64-byte header (no padding needed) then the raw floats.
  const float data[6] = {0, 1, 2, 3, 4, 5};
  const std::string bytes =
      to_string(serialize_safetensors({{"attn.0", "F32", {1, 2, 3}, data, sizeof data}}));
  const std::string json_text = R"({"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}})";
  CHECK(json_text.size() == 64);
  CHECK(bytes == le64(64) + json_text + std::string(reinterpret_cast<const char*>(data), 24));
  // No tensors: "{}" padded to 8 bytes.
  CHECK(to_string(serialize_safetensors({})) == le64(8) + "{}      ");
  // Metadata comes first.
  const std::string with_meta = to_string(serialize_safetensors({}, {{"framework", "pt"}}));
  CHECK(with_meta == le64(40) + R"({"__metadata__":{"framework":"pt"}}     )");
}

void test_roundtrip_file() {
  TempDir dir;
  Fixture fx;
  const auto views = fx.views();
  const std::string path = dir.path + "/model.safetensors";
  write_safetensors_file(path, views, {{"format", "ember"}});
  const SafetensorsFile f = load_safetensors_file(path);
  check_matches(f.header, f.bytes.get(), views);
  CHECK(f.header.metadata == (SafetensorsMetadata{{"format", "ember"}}));
  CHECK(read_file(path) == to_string(serialize_safetensors(views, {{"format", "ember"}})));
  for (const auto& e : f.header.entries)
    CHECK(f.data(e) + e.nbytes() <= f.bytes.get() + f.size);
  CHECK(dir.list() == std::vector<std::string>{"model.safetensors"});  // no temp files left

  // Overwrite with different content; the mode is the usual one, not mkstemp's 0600.
  write_safetensors_file(path, {views[2]});
  const SafetensorsFile g = load_safetensors_file(path);
  CHECK(g.header.entries.size() == 1 && g.header.entries[0].name == "mask");
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) == 0 && (st.st_mode & 0777) == (0666 & ~mask));
  CHECK(dir.list().size() == 1);
}

void test_atomic_file_errors() {
  TempDir dir;
  EXPECT_OS_ERROR("write into a missing directory",
                  atomic_write_file(dir.path + "/no/such/dir/f.bin", "x"),
                  "No such file or directory");
  ::mkdir((dir.path + "/sub").c_str(), 0755);
  ::mkdir((dir.path + "/sub/target").c_str(), 0755);
  ::close(::open((dir.path + "/sub/target/keep").c_str(), O_CREAT | O_WRONLY, 0644));
  EXPECT_OS_ERROR("replace a non-empty directory", atomic_write_file(dir.path + "/sub/target", "x"),
                  "cannot replace");
  DIR* d = ::opendir((dir.path + "/sub").c_str());
  int entries = 0;
  while (dirent* e = ::readdir(d)) entries += std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, "..");
  ::closedir(d);
  CHECK(entries == 1);  // the temp file was removed
  EXPECT_VALUE_ERROR("empty path", atomic_write_file("", "x"), "empty path");

  // Pieces are concatenated in order.
  const std::string path = dir.path + "/pieces.bin";
  atomic_write_file(path, std::vector<ByteSpan>{{"ab", 2}, {nullptr, 0}, {"cde", 3}});
  CHECK(read_file(path) == "abcde");
  atomic_write_file(path, std::string_view());
  CHECK(read_file(path).empty());

  EXPECT_OS_ERROR("load a missing file", load_safetensors_file(dir.path + "/missing.safetensors"),
                  "cannot open", "No such file or directory");
  EXPECT_OS_ERROR("load a directory", load_safetensors_file(dir.path), "not a regular file");
  atomic_write_file(path, make_file("[]", 0));
  EXPECT_VALUE_ERROR("load a malformed file", load_safetensors_file(path), "pieces.bin",
                     "must be a JSON object");
  EXPECT_OS_ERROR("write a tensor file into a missing directory",
                  write_safetensors_file(dir.path + "/none/x.safetensors", {}),
                  "No such file or directory");
}

void test_writer_rejects() {
  float f[6] = {};
  using V = SafetensorsTensorView;
  EXPECT_VALUE_ERROR("duplicate names",
                     serialize_safetensors({V{"w", "F32", {2}, f, 8}, V{"w", "F64", {1}, f, 8}}),
                     "'w'", "duplicate");
  EXPECT_VALUE_ERROR("reserved name", serialize_safetensors({V{"__metadata__", "F32", {}, f, 4}}),
                     "reserved");
  EXPECT_VALUE_ERROR("unknown dtype", serialize_safetensors({V{"w", "F128", {}, f, 16}}), "'w'",
                     "unknown dtype 'F128'");
  EXPECT_VALUE_ERROR("negative dim", serialize_safetensors({V{"w", "F32", {-1, 2}, f, 8}}), "'w'",
                     "negative");
  EXPECT_VALUE_ERROR("size mismatch", serialize_safetensors({V{"w", "F32", {2, 3}, f, 20}}), "'w'",
                     "needs 24 bytes but 20 were given");
  EXPECT_VALUE_ERROR("null data", serialize_safetensors({V{"w", "F32", {1}, nullptr, 4}}), "'w'",
                     "null data");
  EXPECT_VALUE_ERROR("bad UTF-8 name", serialize_safetensors({V{"w\xff", "F32", {1}, f, 4}}),
                     "'w\\xff'", "UTF-8");
  EXPECT_VALUE_ERROR("overflowing shape",
                     serialize_safetensors({V{"w", "F32", {1LL << 40, 1LL << 40}, f, 4}}), "'w'",
                     "int64");
  EXPECT_VALUE_ERROR("duplicate metadata", serialize_safetensors({}, {{"k", "1"}, {"k", "2"}}),
                     "duplicate metadata key 'k'");
  EXPECT_VALUE_ERROR("bad UTF-8 metadata", serialize_safetensors({}, {{"k", "\xc0"}}), "UTF-8");
}

// --- safetensors: hostile input ----------------------------------------------------------------

const char* kW = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

void test_header_length() {
  EXPECT_VALUE_ERROR("empty file", parse_st(""), "0 bytes, too small");
  EXPECT_VALUE_ERROR("7 bytes", parse_st(std::string(7, '\0')), "too small");
  EXPECT_VALUE_ERROR("length past EOF", parse_st(le64(100) + "{}"), "runs past the end");
  EXPECT_VALUE_ERROR("length 100 MB + 1", parse_st(le64(100000001) + "{}"), "exceeds the limit");
  EXPECT_VALUE_ERROR("length 2^64-1", parse_st(le64(UINT64_MAX) + "{}"), "exceeds the limit");
  EXPECT_VALUE_ERROR("length 2^63", parse_st(le64(1ull << 63) + "{}"), "exceeds the limit");
  EXPECT_VALUE_ERROR("length 0", parse_st(le64(0)), "invalid JSON header");
  EXPECT_VALUE_ERROR("length cuts the JSON", parse_st(le64(1) + "{}"), "invalid JSON header");
  // The length points inside the JSON: the tail is read as tensor data, the header is broken.
  EXPECT_VALUE_ERROR("length too short", parse_st(le64(5) + "{" + kW + "}" + std::string(8, 'x')),
                     "invalid JSON header");
  // Exactly the header, no data: fine.
  CHECK(parse_st(le64(2) + "{}").entries.empty());
}

void test_header_json() {
  EXPECT_VALUE_ERROR("not JSON", parse_st(make_file("{abc}", 0)), "invalid JSON header");
  EXPECT_VALUE_ERROR("array header", parse_st(make_file("[]", 0)), "must be a JSON object, got array");
  EXPECT_VALUE_ERROR("string header", parse_st(make_file("\"x\"", 0)), "got string");
  EXPECT_VALUE_ERROR("trailing garbage", parse_st(make_file("{} x", 0)), "after the JSON value");
  EXPECT_VALUE_ERROR("NUL padding", parse_st(make_file(std::string("{}\0\0\0\0\0\0", 8), 0)),
                     "invalid JSON header");
  EXPECT_VALUE_ERROR("invalid UTF-8", parse_st(make_file("{\"w\xff\":1}", 0)), "UTF-8");
  EXPECT_VALUE_ERROR("duplicate tensor", parse_st(make_file(std::string("{") + kW + "," + kW + "}", 16)),
                     "duplicate key 'w'");
  EXPECT_VALUE_ERROR("deep nesting",
                     parse_st(make_file("{\"w\":" + std::string(500, '[') + std::string(500, ']') + "}", 0)),
                     "nesting");
  // Whitespace padding and leading whitespace are JSON whitespace.
  CHECK(parse_st(make_file(" \n{}\t\r      ", 0)).entries.empty());
}

void test_entry_fields() {
  struct Case {
    const char* label;
    std::string entry;  // the value of tensor "w"
    size_t data;
    const char* needle;
  };
  const Case cases[] = {
      {"entry not object", "5", 0, "expected an object"},
      {"missing dtype", R"({"shape":[2],"data_offsets":[0,8]})", 8, "missing \"dtype\""},
      {"missing shape", R"({"dtype":"F32","data_offsets":[0,8]})", 8, "missing \"shape\""},
      {"missing offsets", R"({"dtype":"F32","shape":[2]})", 8, "missing \"data_offsets\""},
      {"dtype number", R"({"dtype":4,"shape":[2],"data_offsets":[0,8]})", 8, "must be a string, got number"},
      {"unknown dtype", R"({"dtype":"F9","shape":[2],"data_offsets":[0,8]})", 8, "unknown or unsupported dtype 'F9'"},
      {"lowercase dtype", R"({"dtype":"f32","shape":[2],"data_offsets":[0,8]})", 8, "'f32'"},
      {"sub-byte dtype", R"({"dtype":"F4","shape":[2],"data_offsets":[0,1]})", 1, "'F4'"},
      {"shape string", R"({"dtype":"F32","shape":"2","data_offsets":[0,8]})", 8, "must be an array, got string"},
      {"shape negative", R"({"dtype":"F32","shape":[-2],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"shape float", R"({"dtype":"F32","shape":[1,2.0],"data_offsets":[0,8]})", 8, "shape[1]"},
      {"shape exponent", R"({"dtype":"F32","shape":[2e0],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"shape string dim", R"({"dtype":"F32","shape":["2"],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"shape null dim", R"({"dtype":"F32","shape":[null],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"shape dim 2^63", R"({"dtype":"U8","shape":[9223372036854775808],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"shape dim 2^64", R"({"dtype":"U8","shape":[18446744073709551616],"data_offsets":[0,8]})", 8, "shape[0]"},
      {"numel overflow", R"({"dtype":"U8","shape":[4294967296,4294967296,4],"data_offsets":[0,8]})", 8,
       "more elements than fit in int64"},
      {"bytes overflow", R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]})", 8,
       "needs more than 2^64 bytes"},
      {"bytes overflow 2", R"({"dtype":"F64","shape":[3074457345618258603,1],"data_offsets":[0,8]})", 8,
       "needs more than 2^64 bytes"},
      {"offsets object", R"({"dtype":"F32","shape":[2],"data_offsets":{"a":0}})", 8, "must be [begin, end]"},
      {"offsets length 1", R"({"dtype":"F32","shape":[2],"data_offsets":[8]})", 8, "must be [begin, end]"},
      {"offsets length 3", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8,8]})", 8, "must be [begin, end]"},
      {"offsets negative", R"({"dtype":"F32","shape":[2],"data_offsets":[-8,0]})", 8, "must be [begin, end]"},
      {"offsets float", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8.0]})", 8, "must be [begin, end]"},
      {"offsets 2^64", R"({"dtype":"F32","shape":[2],"data_offsets":[0,18446744073709551616]})", 8,
       "must be [begin, end]"},
      {"begin > end", R"({"dtype":"F32","shape":[2],"data_offsets":[8,0]})", 8, "[8, 0] have begin > end"},
      {"end past data", R"({"dtype":"F32","shape":[2],"data_offsets":[0,8]})", 4,
       "[0, 8] run past the end of the data section (4 bytes)"},
      {"end 2^64-1", R"({"dtype":"U8","shape":[0],"data_offsets":[18446744073709551615,18446744073709551615]})", 4,
       "run past the end"},
      {"size mismatch", R"({"dtype":"F32","shape":[2,3],"data_offsets":[0,12]})", 12,
       "hold 12 bytes but shape [2, 3] of F32 needs 24"},
      {"0-d size mismatch", R"({"dtype":"F64","shape":[],"data_offsets":[0,4]})", 4, "needs 8"},
  };
  for (const Case& c : cases) {
    const std::string file = make_file("{\"w\":" + c.entry + "}", c.data);
    EXPECT_VALUE_ERROR(c.label, parse_st(file), "tensor 'w'", c.needle);
  }
}

void test_ranges() {
  auto entry = [](const char* name, const char* dtype, const char* shape, uint64_t b, uint64_t e) {
    return std::string("\"") + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape +
           ",\"data_offsets\":[" + std::to_string(b) + "," + std::to_string(e) + "]}";
  };
  EXPECT_VALUE_ERROR("overlap",
                     parse_st(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                            entry("b", "F32", "[2]", 4, 12) + "}", 12)),
                     "tensor 'b'", "overlap tensor 'a' [0, 8]");
  EXPECT_VALUE_ERROR("same range twice",
                     parse_st(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                            entry("b", "F32", "[2]", 0, 8) + "}", 8)),
                     "tensor 'b'", "overlap");
  EXPECT_VALUE_ERROR("gap",
                     parse_st(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                            entry("b", "F32", "[2]", 12, 20) + "}", 20)),
                     "tensor 'b'", "gap after tensor 'a'");
  EXPECT_VALUE_ERROR("gap at start", parse_st(make_file("{" + entry("a", "F32", "[2]", 4, 12) + "}", 12)),
                     "tensor 'a'", "gap after the start of the data section");
  EXPECT_VALUE_ERROR("trailing data", parse_st(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "}", 12)),
                     "cover 8 bytes but the data section holds 12", "'a'");
  EXPECT_VALUE_ERROR("data but no tensors", parse_st(make_file("{}", 3)), "no tensors but 3 bytes");
  EXPECT_VALUE_ERROR("zero-size inside another",
                     parse_st(make_file("{" + entry("a", "F32", "[2]", 0, 8) + "," +
                                            entry("z", "F32", "[0]", 4, 4) + "}", 8)),
                     "tensor 'z'", "overlap");

  // Valid: ranges out of order in the JSON, zero-size tensors sharing offsets, a 0-d tensor,
  // unknown keys, a huge dim made harmless by a zero.
  const std::string ok = make_file(
      "{" + entry("late", "F64", "[]", 8, 16) + "," + entry("z1", "I64", "[0,3]", 8, 8) + "," +
          entry("early", "I32", "[2]", 0, 8) + "," + entry("z0", "U8", "[0]", 0, 0) + "," +
          entry("z2", "U8", "[0,9223372036854775807]", 16, 16) + "," +
          "\"__metadata__\":{\"k\":\"v\"}," +
          R"("x":{"dtype":"BF16","shape":[1],"data_offsets":[16,18],"extra":[1,{"a":null}]})" + "}",
      18);
  const SafetensorsHeader h = parse_st(ok);
  std::vector<std::string> names;
  for (const auto& e : h.entries) names.push_back(e.name);
  CHECK((names == std::vector<std::string>{"z0", "early", "z1", "late", "z2", "x"}));
  // JSON order: late, z1, early, z0, z2, x.
  std::vector<std::string> json_names;
  for (size_t pos : h.json_order) json_names.push_back(h.entries[pos].name);
  CHECK((json_names == std::vector<std::string>{"late", "z1", "early", "z0", "z2", "x"}));
  CHECK(h.find("late")->shape.empty() && h.find("late")->nbytes() == 8);
  CHECK((h.find("z2")->shape == std::vector<int64_t>{0, INT64_MAX}));
  CHECK(h.metadata == (SafetensorsMetadata{{"k", "v"}}));
  CHECK(h.find("x")->dtype == "BF16");
}

void test_metadata_rejects() {
  EXPECT_VALUE_ERROR("metadata not object", parse_st(make_file(R"({"__metadata__":[]})", 0)),
                     "\"__metadata__\" must be an object");
  EXPECT_VALUE_ERROR("metadata number value", parse_st(make_file(R"({"__metadata__":{"a":1}})", 0)),
                     "key 'a' must be a string, got number");
  EXPECT_VALUE_ERROR("metadata nested", parse_st(make_file(R"({"__metadata__":{"a":{}}})", 0)),
                     "got object");
  EXPECT_VALUE_ERROR("metadata duplicate key",
                     parse_st(make_file(R"({"__metadata__":{"a":"1","a":"2"}})", 0)),
                     "duplicate key 'a'");
  EXPECT_VALUE_ERROR("metadata twice",
                     parse_st(make_file(R"({"__metadata__":{},"__metadata__":{}})", 0)),
                     "duplicate key '__metadata__'");
}

void test_unicode_names() {
  // \u escapes in names, including a surrogate pair, decode to UTF-8.
  const std::string file = make_file(
      R"({"w\u00e9ight\ud83d\ude00":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
      R"("__metadata__":{"n\u0061me":"caf\u00e9 \"q\""}})",
      1);
  const SafetensorsHeader h = parse_st(file);
  CHECK(h.entries.size() == 1 && h.entries[0].name == "w\xC3\xA9ight\xF0\x9F\x98\x80");
  CHECK(h.metadata == (SafetensorsMetadata{{"name", "caf\xC3\xA9 \"q\""}}));
  // A hostile name shows up escaped in the error, which stays valid UTF-8.
  const std::string msg = EXPECT_VALUE_ERROR(
      "control characters in a name",
      parse_st(make_file(R"({"a\u0000\n\u001b":{"dtype":"F9","shape":[],"data_offsets":[0,0]}})", 0)),
      "tensor 'a\\u0000\\n\\u001b'");
}

void test_truncations_and_length_edits() {
  Fixture fx;
  const std::string bytes = to_string(serialize_safetensors(fx.views(), {{"k", "v"}}));
  int unexpected = 0;
  for (size_t n = 0; n < bytes.size(); ++n) {
    try {
      parse_st(bytes.substr(0, n));
      ++unexpected;
    } catch (const ValueError&) {
    }
  }
  CHECK(unexpected == 0);
  // Every other value of the length field's low byte: only the true one parses.
  int parsed = 0;
  for (int b = 0; b < 256; ++b) {
    std::string m = bytes;
    m[0] = static_cast<char>(b);
    try {
      parse_st(m);
      ++parsed;
    } catch (const ValueError&) {
    }
  }
  CHECK(parsed == 1);
}

}  // namespace

int main() {
  test_json_values();
  test_json_integers();
  test_json_strings();
  test_json_rejects();
  test_json_limits();
  test_json_truncation();
  test_json_writer();
  test_json_type_errors();
  test_roundtrip_memory();
  test_reference_layout();
  test_roundtrip_file();
  test_atomic_file_errors();
  test_writer_rejects();
  test_header_length();
  test_header_json();
  test_entry_fields();
  test_ranges();
  test_metadata_rejects();
  test_unicode_names();
  test_truncations_and_length_edits();
  std::printf("safetensors: %d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}
