// The bundled model through the library: a known sentence, and threads that change nothing. Its
// CoNLL-2003 gate (test F1 = the model card's) runs through `albertner eval` in test_cli.
#include "shared.hpp"

#include <albertner/albertner.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

const std::string model_path = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";

TEST_CASE("bundled model: tags the README sentence with first-token aggregation") {
  albertner::TaggerOptions options;
  options.aggregation = albertner::Aggregation::first;
  auto tagger = albertner::Tagger<float>::open(model_path, options);
  REQUIRE_MESSAGE(tagger.ok(), (tagger.ok() ? "" : tagger.error().what()));
  auto entities = tagger->tag("EU rejects German call to boycott British lamb .");
  REQUIRE(entities.ok());
  std::ostringstream got;
  for (const albertner::Entity& e : *entities) got << e.text << "/" << e.label << " ";
  CHECK(got.str() == "EU/ORG German/MISC British/MISC ");
}

TEST_CASE("bundled model: one text on 2 threads (spare threads go inside the encoder) tags as on 1") {
  const std::string text = "Angela Merkel met Emmanuel Macron in Paris on Tuesday to discuss Airbus and the "
                           "European Central Bank , Reuters reported from Brussels .";
  std::vector<std::vector<albertner::Entity>> runs;
  for (std::size_t threads : {1, 2}) {
    albertner::TaggerOptions options;
    options.threads = threads;
    auto tagger = albertner::Tagger<float>::open(model_path, options);
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
