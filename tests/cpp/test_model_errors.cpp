// Malformed models: each file in tests/data/bad_models/ must fail with the expected error type,
// naming the file and the JSON pointer of the offending field (table in expected.json).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "osteogrn/errors.hpp"
#include "osteogrn/model.hpp"

namespace fs = std::filesystem;
using namespace osteogrn;

namespace {

const fs::path kDir = fs::path(OSTEOGRN_SOURCE_DIR) / "tests" / "data" / "bad_models";

nlohmann::json expected_table() {
  std::ifstream in(kDir / "expected.json");
  return nlohmann::json::parse(in);
}

LoadOptions lib_options() {
  LoadOptions o;
  o.search_paths.push_back((kDir / "lib").string());
  return o;
}

TEST(BadModels, TableCoversEveryFile) {
  const auto table = expected_table();
  EXPECT_GE(table.size(), 25u);
  for (const auto& entry : fs::directory_iterator(kDir)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && entry.path().extension() == ".json" && name != "expected.json")
      EXPECT_TRUE(table.contains(name)) << name << " has no row in expected.json";
  }
}

TEST(BadModels, EachFailsWithTheExpectedError) {
  const auto table = expected_table();
  for (auto it = table.begin(); it != table.end(); ++it) {
    SCOPED_TRACE(it.key());
    const fs::path path = kDir / it.key();
    const auto& want = it.value();
    const std::string type = want.at("type");
    const std::string pointer = want.at("pointer");
    const fs::path err_file = kDir / want.value("file", it.key());
    std::string got_type, got_file, got_pointer, what;
    try {
      Model::from_file(path.string(), lib_options());
      ADD_FAILURE() << "loaded without error";
      continue;
    } catch (const ParseError& e) {
      got_type = "ParseError";
      got_file = e.file();
      got_pointer = e.pointer();
      what = e.what();
      EXPECT_LE(e.position(), e.text().size());
      EXPECT_NE(what.find("position " + std::to_string(e.position())), std::string::npos);
    } catch (const ModelError& e) {
      got_type = "ModelError";
      got_file = e.file();
      got_pointer = e.pointer();
      what = e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "unexpected exception type: " << e.what();
      continue;
    }
    EXPECT_EQ(got_type, type) << what;
    EXPECT_EQ(got_pointer, pointer) << what;
    EXPECT_EQ(fs::path(got_file).lexically_normal(), err_file.lexically_normal()) << what;
    EXPECT_NE(what.find(got_file), std::string::npos) << "message does not name the file: " << what;
    EXPECT_NE(what.find(pointer), std::string::npos) << "message does not name the field: " << what;
    for (const auto& piece : want.value("contains", nlohmann::json::array())) {
      const std::string s = piece;
      EXPECT_NE(what.find(s), std::string::npos) << "'" << s << "' not in: " << what;
    }
  }
}

// The same checks through from_json: the source name stands in for the file.
TEST(BadModels, FromJsonNamesTheSource) {
  try {
    Model::from_json(R"({"schema": "osteogrn-model/1", "name": "x",
                         "species": {"A": {"initial": 1}}, "odes": {"A": "-B"}})",
                     "my_text");
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_EQ(e.file(), "my_text");
    EXPECT_EQ(e.pointer(), "/odes/A");
    EXPECT_NE(std::string(e.what()).find("my_text: /odes/A: unknown name 'B'"), std::string::npos)
        << e.what();
  }
  // Parse errors carry the position inside the expression.
  try {
    Model::from_json(R"({"schema": "osteogrn-model/1", "name": "x",
                         "species": {"A": {"initial": 1}}, "odes": {"A": "2 * (A"}})",
                     "src");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.file(), "src");
    EXPECT_EQ(e.pointer(), "/odes/A");
    EXPECT_EQ(e.text(), "2 * (A");
    EXPECT_GE(e.position(), 4u);
  }
}

TEST(BadModels, MissingImportNamesTheFoldersSearched) {
  const std::string text = R"({"schema": "osteogrn-model/1", "name": "x", "imports": ["nowhere"],
                               "species": {"A": {"initial": 1}}, "odes": {"A": "-A"}})";
  LoadOptions o;
  o.search_paths = {"/first/folder", "/second/folder"};
  try {
    Model::from_json(text, "t.json", o);
    FAIL() << "no error";
  } catch (const ModelError& e) {
    const std::string w = e.what();
    EXPECT_EQ(e.pointer(), "/imports/0");
    EXPECT_NE(w.find("'nowhere'"), std::string::npos) << w;
    EXPECT_NE(w.find("/first/folder"), std::string::npos) << w;
    EXPECT_NE(w.find("/second/folder"), std::string::npos) << w;
    EXPECT_LT(w.find("/first/folder"), w.find("/second/folder")) << "search order: " << w;
  }
}

TEST(BadModels, MissingFileAndEmptyModel) {
  try {
    Model::from_file((kDir / "does_not_exist.json").string());
    FAIL() << "no error";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("does_not_exist.json"), std::string::npos);
  }
  const Model empty;  // default-constructed: a typed error, not a crash
  EXPECT_THROW(empty.species(), ModelError);
  EXPECT_THROW(empty.rhs(0, {}, {}), ModelError);
}

TEST(BadModels, EveryBadFileFailsFromTextToo) {
  // No crash and a typed error whatever the input: also for truncated files.
  for (const auto& entry : fs::directory_iterator(kDir)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t cut : {text.size() / 3, text.size() / 2, text.size() - 2}) {
      EXPECT_THROW(Model::from_json(text.substr(0, cut), "cut", lib_options()), Error)
          << entry.path() << " cut at " << cut;
    }
  }
}

}  // namespace

namespace {
TEST(BadModels, AbsurdNestingIsATypedErrorNotAStackOverflow) {
  // 100,000 nested arrays: nlohmann would recurse when copying such a value.
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  const std::string head = R"({"schema": "osteogrn-model/1", "name": "deep", "species": )";
  for (const std::string& text : {deep, head + deep + "}"}) {
    try {
      Model::from_json(text, "deep.json");
      FAIL() << "no error";
    } catch (const ModelError& e) {
      EXPECT_EQ(e.file(), "deep.json");
      EXPECT_NE(std::string(e.what()).find("nested deeper than"), std::string::npos) << e.what();
    }
  }
}
}  // namespace

namespace {
// A path that is no model file is refused by name before it is opened or read: a directory
// used to give "invalid JSON ... unexpected end of input", /dev/zero read gigabytes, and a FIFO
// without a writer blocks whoever opens it (the test would hang, not fail).
TEST(BadModels, NonRegularFilesAreRefusedByName) {
  const fs::path tmp =
      fs::temp_directory_path() / ("osteogrn_nonregular_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  const fs::path fifo = tmp / "pipe.json";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {tmp.string(), "it is a directory"},
      {"/dev/zero", "a character device is not a regular file"},
      {fifo.string(), "a FIFO (named pipe) is not a regular file"},
  };
  for (const auto& [path, says] : cases) {
    try {
      Model::from_file(path);
      ADD_FAILURE() << "loaded " << path;
    } catch (const ModelError& e) {
      EXPECT_EQ(e.file(), path);
      EXPECT_EQ(e.pointer(), "");
      EXPECT_NE(e.message().find(says), std::string::npos) << e.what();
    }
  }
  fs::remove_all(tmp);
}

// An import is a file too: one that is too large is refused, naming the imported file.
TEST(BadModels, ImportedFilesHonourTheSizeLimit) {
  const fs::path tmp =
      fs::temp_directory_path() / ("osteogrn_import_limit_" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  std::ofstream(tmp / "part.json")
      << R"({"schema": "osteogrn-model/1", "name": "part", "species": {"A": {"initial": 1}},)"
      << R"( "odes": {"A": "-A"}})" << std::string(4096, ' ');
  std::ofstream(tmp / "top.json")
      << R"({"schema": "osteogrn-model/1", "name": "top", "imports": ["part"]})";
  EXPECT_EQ(Model::from_file((tmp / "top.json").string()).species().size(), 1u);
  ::setenv("OSTEOGRN_MAX_FILE_BYTES", "1000", 1);
  try {
    Model::from_file((tmp / "top.json").string());
    ADD_FAILURE() << "loaded an import over the limit";
  } catch (const ModelError& e) {
    EXPECT_EQ(e.file(), (tmp / "part.json").string());
    EXPECT_NE(e.message().find("over the limit of 1000 bytes"), std::string::npos) << e.what();
  }
  ::unsetenv("OSTEOGRN_MAX_FILE_BYTES");
  fs::remove_all(tmp);
}
}  // namespace
