// The one JSON reader of model and protocol files (see osteogrn/detail/json_reader.hpp).
#include "osteogrn/detail/json_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

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

// Tracks where the parser is, so that errors it detects itself name the field.
class Locator {
 public:
  bool on_event(Json::parse_event_t event, const Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (frames_.size() >= kMaxJsonDepth)
          fail_at(pointer(), "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                 " levels");
        frames_.push_back({event == Json::parse_event_t::object_start, {}, {}, 0});
        break;
      case Json::parse_event_t::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        // nlohmann would keep the last value silently, hiding e.g. a component given twice.
        if (!top.keys.insert(top.key).second)
          fail_at(pointer(), "duplicate key '" + top.key + "' (each key may appear once per "
                             "object)");
        break;
      }
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        frames_.pop_back();
        advance();
        break;
      case Json::parse_event_t::value: advance(); break;
    }
    return true;
  }

  // The pointer of the value being read (for an array, its next element).
  std::string pointer() const {
    std::string out;
    for (const Frame& f : frames_) out = f.object ? child(out, f.key) : child(out, f.index);
    return out;
  }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
    std::size_t index;
  };
  void advance() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
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
  Locator where;
  Json::parser_callback_t callback = [&where](int, Json::parse_event_t event, Json& parsed) {
    return where.on_event(event, parsed);
  };
  try {
    return Json::parse(text, callback);
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
