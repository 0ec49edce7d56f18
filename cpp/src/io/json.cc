// Recursive-descent JSON parser and compact writer. See json.h for the contract.
#include "io/json.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "ember/error.h"

namespace ember::json {

const char* type_name(Type t) {
  switch (t) {
    case Type::Null: return "null";
    case Type::Bool: return "bool";
    case Type::Number: return "number";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Object: return "object";
  }
  return "?";
}

// --- UTF-8 ------------------------------------------------------------------------------------

namespace {

// Length of the well-formed UTF-8 sequence starting at p (RFC 3629, table 3-7 of the Unicode
// standard), or 0 when the bytes there are not one. Reads only inside [p, end).
size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // UTF-16 surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 (overlong) or F5..FF
  }
  if (static_cast<size_t>(end - p) < n) return 0;
  if (p[1] < lo || p[1] > hi) return 0;
  for (size_t i = 2; i < n; ++i)
    if ((p[i] & 0xC0) != 0x80) return 0;
  return n;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  const auto end = p + s.size();
  while (p < end) {
    const size_t n = utf8_sequence_length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

// --- Value ------------------------------------------------------------------------------------

namespace {
Number integer_number(uint64_t magnitude, bool negative) {
  Number n;
  n.magnitude = magnitude;
  n.negative = negative;
  n.is_integer = true;
  n.fits_u64 = true;
  n.value = negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
  return n;
}

[[noreturn]] void wrong_type(Type want, Type got) {
  throw TypeError(str("JSON: expected ", type_name(want), ", got ", type_name(got)));
}
}  // namespace

Value::Value(double d) {
  Number n;
  n.value = d;
  v_ = n;
}

Value::Value(int64_t v) {
  // |INT64_MIN| does not fit int64_t, so negate in unsigned arithmetic.
  const bool neg = v < 0;
  const uint64_t mag = neg ? uint64_t(0) - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  v_ = integer_number(mag, neg);
}

Value::Value(uint64_t v) : v_(integer_number(v, false)) {}

bool Value::as_bool() const {
  if (!is_bool()) wrong_type(Type::Bool, type());
  return std::get<bool>(v_);
}
const Number& Value::as_number() const {
  if (!is_number()) wrong_type(Type::Number, type());
  return std::get<Number>(v_);
}
const std::string& Value::as_string() const {
  if (!is_string()) wrong_type(Type::String, type());
  return std::get<std::string>(v_);
}
const Array& Value::as_array() const {
  if (!is_array()) wrong_type(Type::Array, type());
  return std::get<Array>(v_);
}
const Object& Value::as_object() const {
  if (!is_object()) wrong_type(Type::Object, type());
  return std::get<Object>(v_);
}
Array& Value::as_array() {
  if (!is_array()) wrong_type(Type::Array, type());
  return std::get<Array>(v_);
}
Object& Value::as_object() {
  if (!is_object()) wrong_type(Type::Object, type());
  return std::get<Object>(v_);
}

std::optional<uint64_t> Value::to_u64() const {
  if (!is_number()) return std::nullopt;
  const Number& n = std::get<Number>(v_);
  if (!n.is_integer || !n.fits_u64) return std::nullopt;
  if (n.negative && n.magnitude != 0) return std::nullopt;  // "-0" is zero
  return n.magnitude;
}

std::optional<int64_t> Value::to_i64() const {
  if (!is_number()) return std::nullopt;
  const Number& n = std::get<Number>(v_);
  if (!n.is_integer || !n.fits_u64) return std::nullopt;
  constexpr uint64_t kMax = static_cast<uint64_t>(INT64_MAX);
  if (!n.negative) {
    if (n.magnitude > kMax) return std::nullopt;
    return static_cast<int64_t>(n.magnitude);
  }
  if (n.magnitude > kMax + 1) return std::nullopt;
  if (n.magnitude == kMax + 1) return INT64_MIN;
  return -static_cast<int64_t>(n.magnitude);
}

const Value* Value::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : std::get<Object>(v_))
    if (k == key) return &v;
  return nullptr;
}

// --- parser -----------------------------------------------------------------------------------

namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& opt)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), opt_(opt) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value();
    skip_ws();
    if (p_ != end_) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw ValueError(str("JSON: ", what, " at byte ", p_ - begin_));
  }

  bool at_end() const { return p_ == end_; }
  char peek() const { return *p_; }  // only after checking !at_end()

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  void expect_literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word)
      fail("invalid literal");
    p_ += word.size();
  }

  Value parse_value() {
    if (++count_ > opt_.max_values)
      fail(str("more than ", opt_.max_values, " values"));
    if (at_end()) fail("unexpected end of input, expected a value");
    switch (peek()) {
      case '{': return parse_object();
      case '[': return parse_array();
      case '"': return Value(parse_string());
      case 't': expect_literal("true"); return Value(true);
      case 'f': expect_literal("false"); return Value(false);
      case 'n': expect_literal("null"); return Value(nullptr);
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return Value(parse_number());
        fail("unexpected character, expected a value");
    }
  }

  void enter() {
    if (++depth_ > opt_.max_depth) fail(str("nesting deeper than ", opt_.max_depth));
  }

  Value parse_array() {
    enter();
    ++p_;  // '['
    Array items;
    skip_ws();
    if (!at_end() && peek() == ']') {
      ++p_;
      --depth_;
      return Value(std::move(items));
    }
    for (;;) {
      skip_ws();
      items.push_back(parse_value());
      skip_ws();
      if (at_end()) fail("unexpected end of input in array");
      if (peek() == ',') { ++p_; continue; }
      if (peek() == ']') { ++p_; break; }
      fail("expected ',' or ']' in array");
    }
    --depth_;
    return Value(std::move(items));
  }

  Value parse_object() {
    enter();
    const char* start = p_;
    ++p_;  // '{'
    Object members;
    skip_ws();
    if (!at_end() && peek() == '}') {
      ++p_;
      --depth_;
      return Value(std::move(members));
    }
    for (;;) {
      skip_ws();
      if (at_end() || peek() != '"') fail("expected a string key in object");
      std::string key = parse_string();
      skip_ws();
      if (at_end() || peek() != ':') fail("expected ':' after object key");
      ++p_;
      skip_ws();
      Value v = parse_value();
      members.emplace_back(std::move(key), std::move(v));
      skip_ws();
      if (at_end()) fail("unexpected end of input in object");
      if (peek() == ',') { ++p_; continue; }
      if (peek() == '}') { ++p_; break; }
      fail("expected ',' or '}' in object");
    }
    check_unique_keys(members, start);
    --depth_;
    return Value(std::move(members));
  }

  // Sorting views of the keys keeps this O(n log n) for the large objects a hostile header can
  // hold; a per-insert linear scan would be quadratic.
  void check_unique_keys(const Object& members, const char* object_start) {
    if (members.size() < 2) return;
    std::vector<std::string_view> keys;
    keys.reserve(members.size());
    for (const auto& m : members) keys.emplace_back(m.first);
    std::sort(keys.begin(), keys.end());
    auto dup = std::adjacent_find(keys.begin(), keys.end());
    if (dup != keys.end()) {
      p_ = object_start;
      fail(str("duplicate key ", quote_for_message(*dup), " in object"));
    }
  }

  uint32_t parse_hex4() {
    if (end_ - p_ < 4) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = p_[i];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else fail("invalid hex digit in \\u escape");
    }
    p_ += 4;
    return v;
  }

  std::string parse_string() {
    ++p_;  // opening quote
    std::string out;
    for (;;) {
      // Copy the run of plain characters up to the next quote, backslash or non-ASCII byte.
      const char* run = p_;
      while (p_ != end_) {
        const auto c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p_;
      }
      out.append(run, p_);
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return out;
      }
      if (c < 0x20) fail("raw control character in string (must be escaped)");
      if (c >= 0x80) {
        const size_t n = utf8_sequence_length(reinterpret_cast<const unsigned char*>(p_),
                                              reinterpret_cast<const unsigned char*>(end_));
        if (n == 0) fail("invalid UTF-8 in string");
        out.append(p_, n);
        p_ += n;
        continue;
      }
      // Backslash escape.
      ++p_;
      if (at_end()) fail("unterminated escape in string");
      const char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parse_hex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in \\u escape");
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            // A high surrogate must be followed by an escaped low one; together they encode a
            // code point above U+FFFF.
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u')
              fail("high surrogate not followed by a \\u low surrogate");
            p_ += 2;
            const uint32_t lo = parse_hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("high surrogate not followed by a low surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --p_;
          fail("invalid escape in string");
      }
    }
  }

  static bool is_digit(char c) { return c >= '0' && c <= '9'; }

  Number parse_number() {
    const char* start = p_;
    Number n;
    n.is_integer = true;
    n.fits_u64 = true;
    if (peek() == '-') {
      n.negative = true;
      ++p_;
    }
    if (at_end() || !is_digit(peek())) fail("expected a digit in number");
    if (peek() == '0') {
      ++p_;
      if (!at_end() && is_digit(peek())) fail("leading zero in number");
    } else {
      while (!at_end() && is_digit(peek())) {
        const uint64_t d = static_cast<uint64_t>(peek() - '0');
        if (n.fits_u64) {
          if (n.magnitude > (UINT64_MAX - d) / 10) n.fits_u64 = false;
          else n.magnitude = n.magnitude * 10 + d;
        }
        ++p_;
      }
    }
    if (!at_end() && peek() == '.') {
      n.is_integer = false;
      ++p_;
      if (at_end() || !is_digit(peek())) fail("expected a digit after '.' in number");
      while (!at_end() && is_digit(peek())) ++p_;
    }
    if (!at_end() && (peek() == 'e' || peek() == 'E')) {
      n.is_integer = false;
      ++p_;
      if (!at_end() && (peek() == '+' || peek() == '-')) ++p_;
      if (at_end() || !is_digit(peek())) fail("expected a digit in exponent");
      while (!at_end() && is_digit(peek())) ++p_;
    }
    if (!n.is_integer) {
      n.fits_u64 = false;
      n.magnitude = 0;
    }
    // from_chars is locale-independent and correctly rounded; the grammar was checked above.
    const auto r = std::from_chars(start, p_, n.value);
    if (r.ec == std::errc::result_out_of_range) {
      // Overflow to infinity and underflow to zero; RFC 8259 lets a parser limit the range, and
      // nothing ember reads needs such numbers.
      p_ = start;
      fail("number out of the range of a double");
    }
    if (r.ec != std::errc() || r.ptr != p_) {
      p_ = start;
      fail("invalid number");
    }
    return n;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  ParseOptions opt_;
  size_t depth_ = 0;
  size_t count_ = 0;
};

}  // namespace

Value parse(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).parse_document();
}

// --- writer -----------------------------------------------------------------------------------

namespace {
const char kHex[] = "0123456789abcdef";

// Escapes s into out; invalid UTF-8 bytes become \xNN when `lenient`, else throw.
void escape_into(std::string& out, std::string_view s, bool lenient) {
  auto p = reinterpret_cast<const unsigned char*>(s.data());
  const auto end = p + s.size();
  while (p < end) {
    const unsigned char c = *p;
    if (c >= 0x80) {
      const size_t n = utf8_sequence_length(p, end);
      if (n == 0) {
        if (!lenient) throw ValueError("JSON: cannot write a string that is not valid UTF-8");
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
        ++p;
        continue;
      }
      out.append(reinterpret_cast<const char*>(p), n);
      p += n;
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++p;
  }
}

void write_number(std::string& out, const Number& n) {
  if (n.is_integer && n.fits_u64) {
    if (n.negative && n.magnitude != 0) out += '-';
    out += std::to_string(n.magnitude);
    return;
  }
  if (!std::isfinite(n.value)) throw ValueError("JSON: cannot write NaN or infinity");
  char buf[32];
  // Shortest representation that reads back to the same double, kept recognisably a float
  // ("2.0", not "2") so readers such as Python's json give back a float.
  const auto r = std::to_chars(buf, buf + sizeof buf, n.value);
  const std::string_view text(buf, static_cast<size_t>(r.ptr - buf));
  out += text;
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}
}  // namespace

void write_string(std::string& out, std::string_view s) {
  out += '"';
  escape_into(out, s, /*lenient=*/false);
  out += '"';
}

void dump_to(std::string& out, const Value& v) {
  switch (v.type()) {
    case Type::Null: out += "null"; return;
    case Type::Bool: out += v.as_bool() ? "true" : "false"; return;
    case Type::Number: write_number(out, v.as_number()); return;
    case Type::String: write_string(out, v.as_string()); return;
    case Type::Array: {
      out += '[';
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ',';
        first = false;
        dump_to(out, item);
      }
      out += ']';
      return;
    }
    case Type::Object: {
      const Object& members = v.as_object();
      // Duplicate keys would make a document our own parser rejects.
      if (members.size() >= 2) {
        std::vector<std::string_view> keys;
        for (const auto& m : members) keys.emplace_back(m.first);
        std::sort(keys.begin(), keys.end());
        auto dup = std::adjacent_find(keys.begin(), keys.end());
        if (dup != keys.end())
          throw ValueError(str("JSON: cannot write duplicate key ", quote_for_message(*dup)));
      }
      out += '{';
      bool first = true;
      for (const auto& [key, value] : members) {
        if (!first) out += ',';
        first = false;
        write_string(out, key);
        out += ':';
        dump_to(out, value);
      }
      out += '}';
      return;
    }
  }
}

std::string dump(const Value& v) {
  std::string out;
  dump_to(out, v);
  return out;
}

std::string quote_for_message(std::string_view s, size_t max_bytes) {
  bool cut = false;
  if (s.size() > max_bytes) {
    size_t n = max_bytes;
    // Back up to a character boundary so the message stays valid UTF-8.
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
    s = s.substr(0, n);
    cut = true;
  }
  std::string out = "'";
  escape_into(out, s, /*lenient=*/true);
  out += cut ? "'..." : "'";
  return out;
}

}  // namespace ember::json
