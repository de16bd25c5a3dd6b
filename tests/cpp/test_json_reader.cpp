// The shared JSON reader (osteogrn/detail/json_reader.hpp) and the perturbation codec: files are
// refused by name before reading when they are not regular or too large, parse errors name the
// field, and model files and protocols read perturbation windows by one rule set.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "osteogrn/detail/json_codec.hpp"
#include "osteogrn/detail/json_reader.hpp"
#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"
#include "osteogrn/protocol.hpp"

namespace fs = std::filesystem;
using namespace osteogrn;
using detail::FieldError;
using detail::Json;

namespace {

// A fresh empty folder under the system temp directory, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("osteogrn_json_" + std::string(info->name()) + "_" + std::to_string(::getpid()));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

// Sets an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) ::unsetenv(name_);
    else ::setenv(name_, old_.c_str(), 1);
  }

 private:
  const char* name_;
  std::string old_;
};

FieldError read_error(const std::string& path, std::uint64_t limit = 0) {
  try {
    detail::read_text_file(path, "model file", limit);
  } catch (const FieldError& e) {
    return e;
  }
  ADD_FAILURE() << "read " << path;
  return {"", ""};
}

FieldError parse_error(const std::string& text) {
  try {
    detail::parse_json(text);
  } catch (const FieldError& e) {
    return e;
  }
  ADD_FAILURE() << "parsed " << text;
  return {"", ""};
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST(JsonReader, ReadsARegularFile) {
  TempDir dir;
  write(dir / "a.json", "{\"x\": 1}");
  EXPECT_EQ(detail::read_text_file((dir / "a.json").string(), "model file"), "{\"x\": 1}");
}

TEST(JsonReader, RefusesADirectoryByName) {
  TempDir dir;
  const FieldError e = read_error(dir.path().string());
  EXPECT_TRUE(contains(e.message(), "it is a directory")) << e.message();
  EXPECT_EQ(e.pointer(), "");
}

TEST(JsonReader, RefusesDevicesAndFifosBeforeReading) {
  // /dev/zero never ends and opening a FIFO without a writer blocks: either would hang or
  // exhaust memory if opened, so reaching the assertion at all shows they were not.
  const FieldError zero = read_error("/dev/zero");
  EXPECT_TRUE(contains(zero.message(), "a character device is not a regular file"))
      << zero.message();
  TempDir dir;
  const fs::path fifo = dir / "pipe.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const FieldError e = read_error(fifo.string());
  EXPECT_TRUE(contains(e.message(), "FIFO")) << e.message();
}

TEST(JsonReader, RefusesMissingFilesAndBadNames) {
  EXPECT_TRUE(contains(read_error("/nonexistent/x.json").message(), "no such file"));
  EXPECT_TRUE(contains(read_error(std::string(300, 'x') + ".json").message(), "cannot open"));
  EXPECT_TRUE(contains(read_error(std::string("a\0b.json", 8)).message(), "NUL"));
}

TEST(JsonReader, RefusesAFileOverTheLimitWithoutReadingIt) {
  TempDir dir;
  // Sparse: 1 TiB of nothing on disk. Reading it would take minutes and all memory.
  const fs::path big = dir / "big.json";
  write(big, "");
  fs::resize_file(big, std::uint64_t{1} << 40);
  const FieldError e = read_error(big.string());
  EXPECT_TRUE(contains(e.message(), "is 1099511627776 bytes, over the limit of 67108864 bytes"))
      << e.message();
  EXPECT_TRUE(contains(e.message(), "OSTEOGRN_MAX_FILE_BYTES")) << e.message();
  // An explicit limit counts exactly: 8 bytes pass at 8, fail at 7.
  write(dir / "eight.json", "[1,2,33]");
  EXPECT_EQ(detail::read_text_file((dir / "eight.json").string(), "model file", 8), "[1,2,33]");
  EXPECT_TRUE(contains(read_error((dir / "eight.json").string(), 7).message(), "over the limit"));
}

TEST(JsonReader, TheEnvironmentVariableLowersAndRaisesTheLimit) {
  EXPECT_EQ(detail::max_file_bytes(), detail::kDefaultMaxFileBytes);
  TempDir dir;
  // A valid protocol padded with whitespace to just over the default limit.
  const fs::path padded = dir / "padded.json";
  {
    std::ofstream out(padded, std::ios::binary);
    out << R"({"schema": "osteogrn-protocol/1", "name": "p", "duration": 2})";
    out << std::string(detail::kDefaultMaxFileBytes, ' ');
  }
  EXPECT_THROW(Protocol::from_file(padded.string()), ProtocolError);
  {
    ScopedEnv env(detail::kMaxFileBytesVariable, std::to_string(detail::kDefaultMaxFileBytes * 2));
    EXPECT_EQ(Protocol::from_file(padded.string()).duration(), 2);
  }
  write(dir / "small.json", R"({"schema": "osteogrn-protocol/1", "name": "p", "duration": 2})");
  {
    ScopedEnv env(detail::kMaxFileBytesVariable, "10");
    try {
      Protocol::from_file((dir / "small.json").string());
      FAIL() << "accepted a file over the limit";
    } catch (const ProtocolError& e) {
      EXPECT_EQ(e.file(), (dir / "small.json").string());
      EXPECT_TRUE(contains(e.message(), "over the limit of 10 bytes")) << e.what();
    }
  }
  for (const char* bad : {"lots", "-5", "0", "12abc"}) {
    ScopedEnv env(detail::kMaxFileBytesVariable, bad);
    EXPECT_THROW(detail::max_file_bytes(), FieldError) << bad;
  }
}

TEST(JsonReader, ParseErrorsNameTheField) {
  EXPECT_EQ(parse_error(R"({"a": {"b": 1, "b": 2}})").pointer(), "/a/b");
  const FieldError range = parse_error(R"({"a": [1, {"x": 1e999}]})");
  EXPECT_EQ(range.pointer(), "/a/1/x");
  EXPECT_TRUE(contains(range.message(), "got '1e999' (too large for a double)"));
  const FieldError syntax = parse_error("{\n  \"a\": 1,\n}");
  EXPECT_EQ(syntax.pointer(), "");
  EXPECT_TRUE(contains(syntax.message(), "invalid JSON at line 3, column 1")) << syntax.message();
  const FieldError deep = parse_error(std::string(1000, '[') + std::string(1000, ']'));
  EXPECT_TRUE(contains(deep.message(), "nested deeper than 64 levels"));
  EXPECT_EQ(detail::parse_json(std::string(64, '[') + std::string(64, ']')).dump(),
            std::string(64, '[') + std::string(64, ']'));
}

// 50,000 keys: nlohmann's callback parser searched the object linearly per key (quadratic).
TEST(JsonReader, LargeObjectsKeepKeyOrderAndRefuseDuplicates) {
  const std::size_t n = 50000;
  std::string text = "{\"big\": {";
  // Descending names: sorted-map order would differ from file order.
  for (std::size_t i = 0; i < n; ++i)
    text += (i ? ", \"k" : "\"k") + std::to_string(n - i) + "\": " + std::to_string(i);
  const Json doc = detail::parse_json(text + "}}");
  const Json& big = doc.at("big");
  ASSERT_EQ(big.size(), n);
  std::size_t i = 0;
  for (auto it = big.begin(); it != big.end(); ++it, ++i) {
    ASSERT_EQ(it.key(), "k" + std::to_string(n - i));
    ASSERT_EQ(it.value(), Json(i));
  }
  const FieldError dup = parse_error(text + ", \"k17\": [1]}}");
  EXPECT_EQ(dup.pointer(), "/big/k17");
  EXPECT_EQ(dup.message(), "duplicate key 'k17' (each key may appear once per object)");
}

TEST(JsonReader, ParsesAsNlohmannDoesWithoutACallback) {
  std::vector<std::string> texts = {
      R"({"z": 1, "a": [true, false, null, -3, 18446744073709551615, 2.5e-3, "s\u00e9\n"],)"
      R"( "m": {"y": {}, "x": [], "w": [[{"q": 0}], {}]}})",
      "[]", "{}", "7", "\"text\"", "null", std::string(64, '[') + std::string(64, ']')};
  std::size_t models = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(OSTEOGRN_SOURCE_DIR) / "models")) {
    if (entry.path().extension() != ".json") continue;
    texts.push_back(detail::read_text_file(entry.path().string(), "model file"));
    ++models;
  }
  EXPECT_GE(models, 5u);
  for (const std::string& text : texts) {
    const Json ours = detail::parse_json(text), theirs = Json::parse(text);
    EXPECT_EQ(ours, theirs) << text.substr(0, 200);
    // == on ordered_json compares objects in order; dump shows it independently.
    EXPECT_EQ(ours.dump(), theirs.dump());
  }
}

TEST(JsonReader, ErrorsKeepTheirPointersAndMessages) {
  const FieldError deep = parse_error(R"({"a": [0, )" + std::string(100, '[') + "]}");
  std::string pointer = "/a/1";  // object, array "a", then 62 arrays: the 63rd is refused
  for (int i = 0; i < 62; ++i) pointer += "/0";
  EXPECT_EQ(deep.pointer(), pointer);
  EXPECT_EQ(deep.message(), "JSON nested deeper than 64 levels");
  const FieldError range = parse_error(R"({"a": [1, {"x": 1e999}]})");
  EXPECT_EQ(range.message(),
            "number out of range: must be a finite number, got '1e999' (too large for a double)");
  const FieldError syntax = parse_error("{\n  \"a\": 1,\n}");
  EXPECT_EQ(syntax.message(),
            "invalid JSON at line 3, column 1: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(parse_error(R"({"a": 1} {})").message(),
            "invalid JSON at line 1, column 10: syntax error while parsing value - unexpected "
            "'{'; expected end of input");
  EXPECT_EQ(parse_error("").pointer(), "");
}

TEST(JsonReader, AccessorsNameTheFieldAndSuggestKeys) {
  const Json doc = detail::parse_json(R"({"name": 3, "unti": 1, "flag": "yes"})");
  try {
    detail::check_keys(doc, "/x", {"name", "until", "flag"});
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.pointer(), "/x/unti");
    EXPECT_EQ(e.message(), "unknown key 'unti' (did you mean 'until'?); valid keys: name, until, flag");
  }
  EXPECT_THROW(detail::string_at(doc["name"], "/name"), FieldError);
  EXPECT_THROW(detail::boolean_at(doc["flag"], "/flag"), FieldError);
  try {
    detail::required(doc, "/x", "missing");
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.pointer(), "/x");
  }
  try {
    detail::required_member(doc, "/x", "initial", "missing initial value");
    FAIL();
  } catch (const FieldError& e) {
    EXPECT_EQ(e.pointer(), "/x/initial");
  }
  EXPECT_EQ(detail::child("/a", "b/c~d"), "/a/b~1c~0d");
  EXPECT_EQ(detail::describe(Json("nan")), "\"nan\" (a string)");
}

TEST(JsonReader, ModelAndProtocolErrorsShareTheLocatedBase) {
  for (int kind = 0; kind < 2; ++kind) {
    try {
      if (kind == 0) Model::from_json("[]", "m.json");
      else Protocol::from_json("[]", "p.json");
      FAIL();
    } catch (const LocatedError& e) {
      EXPECT_EQ(e.file(), kind == 0 ? "m.json" : "p.json");
      EXPECT_EQ(e.pointer(), "");
      EXPECT_TRUE(contains(e.message(), "must be an object")) << e.what();
      EXPECT_EQ(kind == 0, dynamic_cast<const ModelError*>(&e) != nullptr);
      EXPECT_EQ(kind == 1, dynamic_cast<const ProtocolError*>(&e) != nullptr);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One perturbation codec and rule set for model files and protocols.

namespace {

const std::string kModelHead = R"({"schema": "osteogrn-model/1", "name": "m",
  "species": {"A": {"initial": 1}}, "parameters": {"k": {"value": 1, "source": "assumed: x"}},
  "odes": {"A": "-k * A"}, "perturbations": [)";
const std::string kProtocolHead =
    R"({"schema": "osteogrn-protocol/1", "name": "p", "duration": 1e6, "perturbations": [)";

struct Outcome {
  bool ok;
  std::string pointer, message;
  std::vector<Perturbation> read;
};

Outcome from_model(const std::string& item) {
  try {
    const Model m = Model::from_json(kModelHead + item + "]}", "m.json");
    return {true, "", "", m.overlays()};
  } catch (const ModelError& e) {
    return {false, e.pointer(), e.message(), {}};
  }
}

Outcome from_protocol(const std::string& item) {
  try {
    const Protocol p = Protocol::from_json(kProtocolHead + item + "]}", "p.json");
    return {true, "", "", p.perturbations()};
  } catch (const ProtocolError& e) {
    return {false, e.pointer(), e.message(), {}};
  }
}

}  // namespace

TEST(PerturbationCodec, ModelFilesAndProtocolsReadWindowsAlike) {
  // Before the shared codec the two parsers differed in pointers and wording (a clamp without
  // a value: /perturbations/0/value vs /perturbations/0; a knockout with a value: "unknown
  // key" vs "takes no value") and an empty target passed the model reader.
  const std::vector<std::string> items = {
      R"({"knockout": "A"})",
      R"({"knockout": "A", "from": 2, "until": 3.5})",
      R"({"clamp": "A", "value": 0.25, "from": 0.5})",
      R"({"parameter": "k", "scale": 2, "until": 7})",
      R"({"parameter": "k", "value": 3})",
      R"({"knockout": "A", "from": -1})",
      R"({"knockout": "A", "from": 5, "until": 5})",
      R"({"knockout": "A", "from": 5, "until": 2})",
      R"({"knockout": "A", "until": -2})",
      R"({"clamp": "A"})",
      R"({"knockout": "A", "value": 1})",
      R"({"clamp": "A", "scale": 1})",
      R"({"parameter": "k"})",
      R"({"parameter": "k", "value": 1, "scale": 2})",
      R"({"knockout": ""})",
      R"({"inhibit": "A"})",
      R"({"knockout": "A", "clamp": "A", "value": 1})",
      R"({"knockout": "A", "form": 1})",
      R"({"knockout": 3})",
      R"({"clamp": "A", "value": "1"})",
      R"({"knockout": "A", "from": null})",
      R"("A")",
  };
  int rejected = 0;
  for (const std::string& item : items) {
    SCOPED_TRACE(item);
    const Outcome m = from_model(item), p = from_protocol(item);
    ASSERT_EQ(m.ok, p.ok) << m.message << " | " << p.message;
    EXPECT_EQ(m.pointer, p.pointer);
    // A bound of a window is named as such only where there is a duration to name.
    const bool window = m.pointer.size() > 5 && (m.pointer.substr(m.pointer.size() - 5) == "/from" ||
                                                 m.pointer.substr(m.pointer.size() - 6) == "/until");
    if (!window) EXPECT_EQ(m.message, p.message);
    if (m.ok) {
      ASSERT_EQ(m.read.size(), 1u);
      ASSERT_EQ(p.read.size(), 1u);
      EXPECT_EQ(Json(m.read[0]), Json(p.read[0]));
    } else {
      ++rejected;
      EXPECT_EQ(m.pointer.rfind("/perturbations/0", 0), 0u) << m.pointer;
    }
  }
  EXPECT_EQ(rejected, 17);
}

TEST(PerturbationCodec, ProtocolsAlsoBoundWindowsByTheirDuration) {
  const std::string item = R"({"knockout": "A", "from": 2, "until": 30})";
  EXPECT_TRUE(from_model(item).ok);  // a model has no duration; the window ends with the run
  const std::string proto =
      R"({"schema": "osteogrn-protocol/1", "name": "p", "duration": 21, "perturbations": [)";
  try {
    Protocol::from_json(proto + item + "]}");
    FAIL();
  } catch (const ProtocolError& e) {
    EXPECT_EQ(e.pointer(), "/perturbations/0/until");
    EXPECT_EQ(e.message(), "must lie within [0, duration] = [0, 21], got 30");
  }
}

TEST(PerturbationCodec, RoundTripsThroughJson) {
  const std::vector<Perturbation> all = {
      {PerturbationKind::Knockout, "A", 0.0, false, 0.0, kForever},
      {PerturbationKind::Clamp, "B", -1e-300, false, 0.1 + 0.2, 21.0},
      {PerturbationKind::Parameter, "k", 1.0 / 3.0, true, 1e-3, 20.5},
      {PerturbationKind::Parameter, "k", 7.0, false, 0.0, 1.0},
  };
  for (const Perturbation& p : all) {
    const Json j = p;
    const Perturbation q = detail::parse_json(j.dump()).get<Perturbation>();
    EXPECT_EQ(q.kind, p.kind);
    EXPECT_EQ(q.target, p.target);
    EXPECT_EQ(q.value, p.value);
    EXPECT_EQ(q.scale, p.scale);
    EXPECT_EQ(q.from, p.from);
    EXPECT_EQ(q.until, p.until);
  }
  EXPECT_EQ(Json(all[0]).dump(), R"({"knockout":"A"})");
  EXPECT_EQ(Json(all[2]).dump(), R"({"parameter":"k","scale":0.3333333333333333,"from":0.001,"until":20.5})");
}
