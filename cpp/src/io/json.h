// A small strict JSON reader and writer (RFC 8259) for the headers and small documents ember
// writes: safetensors headers, training histories, checkpoint manifests.
//
// The reader is built for hostile input: it never reads past the end of the given text, limits
// nesting depth and the number of values, validates UTF-8, rejects duplicate object keys,
// leading zeros, lone surrogates, raw control characters in strings and trailing garbage. Every
// failure throws ember::ValueError("JSON: <problem> at byte <offset>").
//
// Integers are kept exactly: "18446744073709551615" reads back as that uint64_t without passing
// through a double (file offsets can exceed 2^53).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace ember::json {

class Value;
using Array = std::vector<Value>;
// Members in document order. Keys are unique: the parser rejects duplicates, the writer too.
using Object = std::vector<std::pair<std::string, Value>>;

enum class Type { Null, Bool, Number, String, Array, Object };
const char* type_name(Type t);

// A JSON number as written. `is_integer` means no fraction and no exponent; then `magnitude`
// holds |value| exactly when `fits_u64`. `value` is the nearest double in every case.
struct Number {
  double value = 0.0;
  uint64_t magnitude = 0;
  bool negative = false;
  bool is_integer = false;
  bool fits_u64 = false;
};

class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(double d);  // the writer throws on NaN / infinity
  Value(int v) : Value(static_cast<int64_t>(v)) {}
  Value(int64_t v);
  Value(uint64_t v);
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}
  Value(Number n) : v_(n) {}

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::Null; }
  bool is_bool() const { return type() == Type::Bool; }
  bool is_number() const { return type() == Type::Number; }
  bool is_string() const { return type() == Type::String; }
  bool is_array() const { return type() == Type::Array; }
  bool is_object() const { return type() == Type::Object; }

  // Typed access; the wrong type throws ember::TypeError naming both types.
  bool as_bool() const;
  const Number& as_number() const;
  double as_double() const { return as_number().value; }
  const std::string& as_string() const;
  const Array& as_array() const;
  const Object& as_object() const;
  Array& as_array();
  Object& as_object();

  // Exact integer conversions: nullopt unless the number is an integer literal in range.
  std::optional<uint64_t> to_u64() const;
  std::optional<int64_t> to_i64() const;

  // Object member by key (linear scan; objects here are small), nullptr when absent or when this
  // is not an object.
  const Value* find(std::string_view key) const;

 private:
  // Alternative order matches enum Type.
  std::variant<std::nullptr_t, bool, Number, std::string, Array, Object> v_;
};

struct ParseOptions {
  size_t max_depth = 128;         // nesting of arrays/objects
  size_t max_values = size_t(1) << 25;  // every value counts, containers included
};

// Parses exactly one JSON value spanning all of `text` (surrounding whitespace allowed).
Value parse(std::string_view text, const ParseOptions& options = {});

// Compact serialization (no spaces). Strings must be valid UTF-8 and numbers finite, else
// ember::ValueError. Control characters, '"' and '\' are escaped; other UTF-8 passes through.
std::string dump(const Value& v);
void dump_to(std::string& out, const Value& v);
// Appends s as a quoted, escaped JSON string.
void write_string(std::string& out, std::string_view s);

// True when s is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view s);

// s in single quotes for an error message: escaped like a JSON string, bytes that are not UTF-8
// shown as \xNN, cut at a character boundary after max_bytes. Names from hostile files go
// through this so a message stays printable and valid UTF-8 (Python decodes it).
std::string quote_for_message(std::string_view s, size_t max_bytes = 80);

}  // namespace ember::json
