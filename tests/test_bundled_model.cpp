// The bundled model: CoNLL-2003 test F1 must equal the model card's, to 4 decimals.
#include "shared.hpp"

#include <albertner/albertner.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::string model_path = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";

// The number after "CoNLL-2003 test F1 (gate):" in docs/model-card.md, or -1.
double model_card_gate() {
  std::ifstream card(std::string(ALBERTNER_SOURCE_DIR) + "/docs/model-card.md");
  const std::string key = "CoNLL-2003 test F1 (gate):";
  for (std::string line; std::getline(card, line);)
    if (line.rfind(key, 0) == 0) return std::stod(line.substr(key.size()));
  return -1;
}

} // namespace

TEST_CASE("bundled model: CoNLL-2003 test F1 equals the model card's to 4 decimals") {
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const double gate = model_card_gate();
  REQUIRE_MESSAGE(gate > 0, "docs/model-card.md lacks the line 'CoNLL-2003 test F1 (gate): 0.xxxx'");

  albertner::TaggerOptions options;
  options.threads = 2;
  auto tagger = albertner::Tagger<float>::open(model_path, options);
  REQUIRE_MESSAGE(tagger.ok(), (tagger.ok() ? "" : tagger.error().what()));
  auto sentences = albertner::read_conll(albertner_test::shared_path("data/conll2003/test.txt"));
  REQUIRE(sentences.ok());
  auto tagged = albertner::predict_conll(*tagger, *sentences, albertner::PredictOptions{});
  REQUIRE_MESSAGE(tagged.ok(), (tagged.ok() ? "" : tagged.error().what()));
  auto scores = albertner::score_conll(*sentences);
  REQUIRE(scores.ok());
  const double f1 = scores->overall.f1();
  MESSAGE("bundled model, CoNLL-2003 test: P " << scores->overall.precision() << " R " << scores->overall.recall()
                                               << " F1 " << f1 << " accuracy " << scores->accuracy());
  CHECK(std::fabs(std::round(f1 * 1e4) / 1e4 - gate) < 1e-9);
}

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
