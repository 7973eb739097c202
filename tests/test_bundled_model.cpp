// The bundled model through the library: a known sentence, and threads that change nothing. Its
// CoNLL-2003 gate (test F1 = the model card's) runs through `albertner eval` in test_cli.
#include "shared.hpp"

#include <albertner/albertner.hpp>
#include <albertner/tooling.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

const std::string model_path = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";

namespace {
/// A scratch folder, removed at exit.
struct Scratch {
  std::string path;
  Scratch() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "albertner-bundled-XXXXXX").string();
    if (const char* made = ::mkdtemp(tmpl.data())) path = made;
  }
  ~Scratch() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
};
} // namespace

TEST_CASE("bundled model: tags the README sentence with first-token aggregation") {
  albertner::TaggerOptions options;
  options.aggregation = albertner::Aggregation::first;
  auto tagger = albertner::Tagger<>::open(model_path, options);
  REQUIRE_MESSAGE(tagger.ok(), (tagger.ok() ? "" : tagger.error().what()));
  auto entities = tagger->tag("EU rejects German call to boycott British lamb .");
  REQUIRE(entities.ok());
  std::ostringstream got;
  for (const albertner::Entity& e : *entities) got << e.text << "/" << e.label << " ";
  CHECK(got.str() == "EU/ORG German/MISC British/MISC ");
}

TEST_CASE("bundled model: one text on 2 threads (spare threads go inside the encoder) tags as on 1") {
  const std::string text =
      "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss Airbus and the "
      "European Central Bank , Reuters reported from Brussels .";
  std::vector<std::vector<albertner::Entity>> runs;
  for (std::size_t threads : {1, 2}) {
    albertner::TaggerOptions options;
    options.threads = threads;
    auto tagger = albertner::Tagger<>::open(model_path, options);
    REQUIRE(tagger.ok());
    auto entities = tagger->tag(text);
    REQUIRE(entities.ok());
    runs.push_back(*entities);
  }
  REQUIRE(runs[0].size() == runs[1].size());
  CHECK(!runs[0].empty());
  for (std::size_t i = 0; i < runs[0].size(); ++i) {
    CHECK(runs[0][i].label == runs[1][i].label);
    CHECK(runs[0][i].start == runs[1][i].start);
    CHECK(runs[0][i].end == runs[1][i].end);
    CHECK(std::fabs(double(runs[0][i].score) - double(runs[1][i].score)) <= 1e-6);
  }
}

TEST_CASE("bundled model: the file recommends first, and a Tagger that names no aggregation uses it") {
  auto model = albertner::Model::open(model_path);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? "" : model.error().what()));
  REQUIRE(model->recommended_aggregation().has_value());
  CHECK(*model->recommended_aggregation() == albertner::Aggregation::first);

  auto by_default = albertner::Tagger<>::open(model_path);
  REQUIRE(by_default.ok());
  CHECK(by_default->options().aggregation == albertner::Aggregation::first);
  // With `simple` the untrained second piece of "Müller" is an entity of its own; `first` keeps the word whole.
  auto entities = by_default->tag("Müller lives in Berlin .");
  REQUIRE(entities.ok());
  std::ostringstream got;
  for (const albertner::Entity& e : *entities) got << e.text << "/" << e.label << " ";
  CHECK(got.str() == "Müller/LOC Berlin/LOC ");
  // An option still wins over the file's recommendation.
  albertner::TaggerOptions options;
  options.aggregation = albertner::Aggregation::simple;
  auto simple = albertner::Tagger<>::open(model_path, options);
  REQUIRE(simple.ok());
  CHECK(simple->options().aggregation == albertner::Aggregation::simple);
}

TEST_CASE("convert: ConvertOptions::aggregation is written, a re-write keeps it, an unknown value fails the open") {
  static Scratch scratch;
  REQUIRE(!scratch.path.empty());
  const std::string dir = scratch.path;
  const std::string average = dir + "/average.safetensors", kept = dir + "/kept.safetensors",
                    bad = dir + "/bad.safetensors";
  albertner::ConvertOptions options;
  options.aggregation = albertner::Aggregation::average;
  auto report = albertner::convert_model_file(model_path, average, options);
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().what()));
  CHECK(report->aggregation == albertner::Aggregation::average);
  auto written = albertner::Model::open(average);
  REQUIRE(written.ok());
  CHECK(written->recommended_aggregation() == albertner::Aggregation::average);
  auto tagger = albertner::Tagger<>::open(average);
  REQUIRE(tagger.ok());
  CHECK(tagger->options().aggregation == albertner::Aggregation::average);

  REQUIRE(albertner::convert_model_file(average, kept).ok()); // no option: the input's recommendation stays
  auto rewritten = albertner::Model::open(kept);
  REQUIRE(rewritten.ok());
  CHECK(rewritten->recommended_aggregation() == albertner::Aggregation::average);

  // The same file with the value replaced by one of equal length (offsets unchanged).
  std::ifstream in(average, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string key = "\"albertner.aggregation\":\"average\"";
  const std::size_t at = bytes.find(key);
  REQUIRE(at != std::string::npos);
  bytes.replace(at, key.size(), "\"albertner.aggregation\":\"longest\"");
  std::ofstream(bad, std::ios::binary) << bytes;
  auto refused = albertner::Model::open(bad);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().what().find("metadata 'albertner.aggregation'") != std::string::npos);
  CHECK(refused.error().what().find("longest") != std::string::npos);
}
