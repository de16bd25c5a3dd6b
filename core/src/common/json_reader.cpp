// The one JSON reader of model and protocol files (see osteogrn/detail/json_reader.hpp).
#include "osteogrn/detail/json_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unordered_set>
#include <utility>

#include "osteogrn/detail/text_util.hpp"

namespace osteogrn::detail {
namespace {

namespace fs = std::filesystem;

const char* file_type_name(fs::file_type type) {
  switch (type) {
    case fs::file_type::directory: return "a directory";
    case fs::file_type::character: return "a character device";
    case fs::file_type::block: return "a block device";
    case fs::file_type::fifo: return "a FIFO (named pipe)";
    case fs::file_type::socket: return "a socket";
    default: return "not a regular file";
  }
}

std::string too_large(std::uint64_t size, std::uint64_t limit, const std::string& what) {
  return "the " + what + " is " + std::to_string(size) + " bytes, over the limit of " +
         std::to_string(limit) + " bytes; set " + kMaxFileBytesVariable +
         " to read larger files";
}

// Refuses by name what must not be opened: opening a FIFO blocks, /dev/zero never ends.
std::uint64_t check_readable(const std::string& path, const std::string& what,
                             std::uint64_t limit) {
  if (path.find('\0') != std::string::npos)
    fail_at("", "cannot open the " + what + ": the file name contains a NUL character");
  std::error_code ec;
  const fs::file_status st = fs::status(path, ec);  // follows symbolic links
  if (st.type() == fs::file_type::not_found)
    fail_at("", "cannot open the " + what + ": no such file");
  if (ec) fail_at("", "cannot open the " + what + ": " + ec.message());
  if (st.type() == fs::file_type::directory)
    fail_at("", "cannot read the " + what + ": it is a directory");
  if (st.type() != fs::file_type::regular)
    fail_at("", "cannot read the " + what + ": " + file_type_name(st.type()) +
                    " is not a regular file");
  const std::uint64_t size = fs::file_size(path, ec);
  if (ec) fail_at("", "cannot read the " + what + ": " + ec.message());
  if (size > limit) fail_at("", too_large(size, limit, what));
  return size;
}

std::string byte_location(const std::string& text, std::size_t byte) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// Builds the document from nlohmann's SAX events, tracking where the parser is so that errors
// it detects itself name the field. Members are appended to the ordered_map's vector base
// without its linear search (Json::parse with a callback inserts each key with
// ordered_map::operator[], a linear search: quadratic in the keys of an object, 18 s for one of
// 50,000 keys); duplicates are already refused through the per-object hash set.
class JsonBuilder {
 public:
  explicit JsonBuilder(Json& root) : root_(root) {}

  bool null() { return scalar(Json(nullptr)); }
  bool boolean(bool value) { return scalar(Json(value)); }
  bool number_integer(Json::number_integer_t value) { return scalar(Json(value)); }
  bool number_unsigned(Json::number_unsigned_t value) { return scalar(Json(value)); }
  bool number_float(Json::number_float_t value, const Json::string_t&) {
    return scalar(Json(value));
  }
  bool string(Json::string_t& value) { return scalar(Json(std::move(value))); }
  bool binary(Json::binary_t& value) { return scalar(Json(std::move(value))); }

  bool start_object(std::size_t) { return open(true); }
  bool start_array(std::size_t) { return open(false); }

  bool key(Json::string_t& key) {
    Frame& top = frames_.back();
    top.key = key;
    // nlohmann would keep the last value silently, hiding e.g. a component given twice.
    if (!top.keys.insert(key).second)
      fail_at(pointer(), "duplicate key '" + top.key + "' (each key may appear once per "
                         "object)");
    members(*top.value).emplace_back(std::move(key), nullptr);
    return true;
  }

  bool end_object() { return close(); }
  bool end_array() { return close(); }

  // Rethrows the exact type (parse_error, out_of_range) as nlohmann's own DOM parsers do.
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

  // The pointer of the value being read (for an array, its next element).
  std::string pointer() const {
    std::string out;
    for (const Frame& f : frames_) out = f.object ? child(out, f.key) : child(out, f.index);
    return out;
  }

 private:
  using Members = Json::object_t::Container;

  struct Frame {
    bool object;
    std::unordered_set<std::string> keys;
    std::string key;
    std::size_t index;
    Json* value;  // stays valid: only the innermost open container grows
  };

  static Members& members(Json& object) {
    return static_cast<Members&>(*object.get_ptr<Json::object_t*>());
  }

  // Where the next value goes: the root, the member of the last key, or a new array element.
  Json& place(Json&& value) {
    if (frames_.empty()) return root_ = std::move(value);
    Frame& top = frames_.back();
    if (top.object) return members(*top.value).back().second = std::move(value);
    auto& array = *top.value->get_ptr<Json::array_t*>();
    array.push_back(std::move(value));
    return array.back();
  }

  bool scalar(Json&& value) {
    place(std::move(value));
    advance();
    return true;
  }

  bool open(bool object) {
    if (frames_.size() >= kMaxJsonDepth)
      fail_at(pointer(), "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels");
    Json& value = place(object ? Json::object() : Json::array());
    frames_.push_back({object, {}, {}, 0, &value});
    return true;
  }

  bool close() {
    frames_.pop_back();
    advance();
    return true;
  }

  void advance() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }

  Json& root_;
  std::vector<Frame> frames_;
};

}  // namespace

void fail_at(const std::string& pointer, const std::string& message) {
  throw FieldError(pointer, message);
}

std::uint64_t max_file_bytes() {
  const char* text = std::getenv(kMaxFileBytesVariable);
  if (!text || !*text) return kDefaultMaxFileBytes;
  errno = 0;
  char* end = nullptr;
  const unsigned long long value = std::strtoull(text, &end, 10);
  if (*text == '-' || *end != '\0' || errno == ERANGE || value == 0)
    fail_at("", std::string(kMaxFileBytesVariable) + "='" + text +
                    "' is not a positive whole number of bytes");
  return value;
}

std::string read_text_file(const std::string& path, const std::string& what,
                           std::uint64_t limit) {
  if (limit == 0) limit = max_file_bytes();
  const std::uint64_t size = check_readable(path, what, limit);
  std::ifstream in(path, std::ios::binary);
  if (!in) fail_at("", "cannot open the " + what + ": " + std::strerror(errno));
  std::string text;
  text.reserve(size);
  // Read at most limit + 1 bytes: a file that grew since check_readable is still bounded.
  char buf[1 << 16];
  while (in) {
    in.read(buf, sizeof buf);
    text.append(buf, static_cast<std::size_t>(in.gcount()));
    if (text.size() > limit) fail_at("", too_large(text.size(), limit, what));
  }
  if (in.bad()) fail_at("", "cannot read the " + what + ": " + std::strerror(errno));
  return text;
}

std::string shown_path(const std::string& path) {
  std::string out;
  for (char c : path) out += c == '\0' ? std::string("\\0") : std::string(1, c);
  return out;
}

Json parse_json(const std::string& text) {
  Json root;
  JsonBuilder where(root);
  try {
    Json::sax_parse(text, &where);
    return root;
  } catch (const Json::parse_error& e) {
    // e.byte is the 1-based offset of the character that broke the parse. Keep nlohmann's
    // explanation, drop its "[json.exception...] parse error at ...:" prefix.
    const std::size_t byte = e.byte == 0 ? 0 : e.byte - 1;
    const std::string what = e.what();
    const auto colon = what.find(": ");
    fail_at("", "invalid JSON at " + byte_location(text, byte) + ": " +
                    (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const Json::out_of_range& e) {
    // A number beyond the range of a double (1e400); the locator still names its field.
    const std::string what = e.what();
    const auto quote = what.find('\'');
    fail_at(where.pointer(), "number out of range: must be a finite number, got " +
                                 (quote == std::string::npos ? what : what.substr(quote)) +
                                 " (too large for a double)");
  }
}

std::string child(const std::string& pointer, const std::string& key) {
  return pointer + "/" + escape_pointer_token(key);
}

std::string child(const std::string& pointer, std::size_t index) {
  return pointer + "/" + std::to_string(index);
}

std::string describe(const Json& value) {
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  if (value.is_number() || value.is_null()) return text;
  const std::string kind = value.is_object()  ? "an object"
                           : value.is_array() ? "an array"
                                              : std::string("a ") + value.type_name();
  return text + " (" + kind + ")";
}

void expect_object(const Json& value, const std::string& pointer, const std::string& what) {
  if (!value.is_object())
    fail_at(pointer, "must be an object" + (what.empty() ? "" : " (" + what + ")") + ", got " +
                         describe(value));
}

void expect_array(const Json& value, const std::string& pointer, const std::string& what) {
  if (!value.is_array())
    fail_at(pointer, "must be an array" + (what.empty() ? "" : " (" + what + ")") + ", got " +
                         describe(value));
}

void check_keys(const Json& object, const std::string& pointer,
                const std::vector<std::string>& allowed) {
  for (auto it = object.begin(); it != object.end(); ++it) {
    if (std::find(allowed.begin(), allowed.end(), it.key()) != allowed.end()) continue;
    // Suggest only close matches (distance < 3).
    fail_at(child(pointer, it.key()), "unknown key '" + it.key() + "'" +
                                          did_you_mean(it.key(), allowed, 3) +
                                          "; valid keys: " + join(allowed));
  }
}

const Json& required(const Json& object, const std::string& pointer, const std::string& key) {
  auto it = object.find(key);
  if (it == object.end()) fail_at(pointer, "missing required key '" + key + "'");
  return *it;
}

const Json& required_member(const Json& object, const std::string& pointer,
                            const std::string& key, const std::string& message) {
  auto it = object.find(key);
  if (it == object.end()) fail_at(child(pointer, key), message);
  return *it;
}

const Json* optional_member(const Json& object, const std::string& key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::string string_at(const Json& value, const std::string& pointer, bool allow_empty) {
  if (!value.is_string()) fail_at(pointer, "must be a string, got " + describe(value));
  std::string s = value.get<std::string>();
  if (!allow_empty && s.empty()) fail_at(pointer, "must not be empty");
  return s;
}

double number_at(const Json& value, const std::string& pointer, const std::string& what) {
  if (!value.is_number()) fail_at(pointer, "must be " + what + ", got " + describe(value));
  const double v = value.get<double>();
  // parse_json refuses 1e400; a document built in memory could still hold an infinity.
  if (!std::isfinite(v)) fail_at(pointer, "must be a finite number, got " + value.dump());
  return v;
}

bool boolean_at(const Json& value, const std::string& pointer) {
  if (!value.is_boolean()) fail_at(pointer, "must be true or false, got " + describe(value));
  return value.get<bool>();
}

}  // namespace osteogrn::detail
