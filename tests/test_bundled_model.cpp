// The bundled model: CoNLL-2003 test F1 must equal the model card's, to 4 decimals.
#include "shared.hpp"

#include <albertner/albertner.hpp>

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

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
