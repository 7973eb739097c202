// One Tagger shared by many threads: every call const, scratch borrowed per call, one pool of
// threads for the Tagger's own work. The same program runs under ThreadSanitizer in
// scripts/test.sh (build-tsan), where ALBERTNER_TEST_SENTENCES caps the sentences.
#include "shared.hpp"

#include <albertner/albertner.hpp>
#include <albertner/tooling/conll.hpp>

#include <cstdlib>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

using albertner::Aggregation;
using albertner::CallOptions;
using albertner::Entity;
using albertner::Tagger;
using albertner::TaggerOptions;

const std::string model_path = std::string(ALBERTNER_SOURCE_DIR) + "/models/albertner-conll03-small.safetensors";

/// The CoNLL-2003 test sentences as texts (words joined by spaces), at most
/// ALBERTNER_TEST_SENTENCES of them when that is set.
std::vector<std::string> conll_test_texts() {
  std::vector<std::string> texts;
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return texts;
  auto sentences = albertner::read_conll(albertner_test::shared_path("data/conll2003/test.txt"));
  REQUIRE_MESSAGE(sentences.ok(), (sentences.ok() ? "" : sentences.error().what()));
  std::size_t limit = sentences->size();
  if (const char* cap = std::getenv("ALBERTNER_TEST_SENTENCES")) limit = std::min<std::size_t>(limit, std::stoul(cap));
  for (std::size_t s = 0; s < limit; ++s) {
    std::string text;
    for (const std::string& w : (*sentences)[s].words) text += (text.empty() ? "" : " ") + w;
    texts.push_back(std::move(text));
  }
  return texts;
}

bool same_entities(const std::vector<Entity>& a, const std::vector<Entity>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].label != b[i].label || a[i].start != b[i].start || a[i].end != b[i].end || a[i].score != b[i].score ||
        a[i].word != b[i].word || a[i].index != b[i].index)
      return false;
  return true;
}

Tagger<> open_tagger(std::size_t threads, std::size_t batch_size = 8) {
  TaggerOptions options;
  options.threads = threads;
  options.batch_size = batch_size;
  auto tagger = Tagger<>::open(model_path, options);
  REQUIRE_MESSAGE(tagger.ok(), (tagger.ok() ? "" : tagger.error().what()));
  return std::move(tagger).value();
}

} // namespace

TEST_CASE("shared Tagger: 4 threads with different aggregations per call equal one thread alone") {
  const std::vector<std::string> texts = conll_test_texts();
  if (texts.empty()) return;
  const Aggregation strategies[4] = {Aggregation::simple, Aggregation::first, Aggregation::average, Aggregation::max};
  // A Tagger of 2 threads: the callers contend for its pool too (a call that finds it busy runs
  // on its own thread).
  {
    const Tagger<> tagger = open_tagger(2);
    // The reference: one caller, batches of 32 texts, each strategy in turn.
    std::vector<std::vector<std::vector<Entity>>> expected(4);
    for (int k = 0; k < 4; ++k)
      for (std::size_t first = 0; first < texts.size(); first += 32) {
        std::vector<std::string> batch(texts.begin() + static_cast<std::ptrdiff_t>(first),
                                       texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), first + 32)));
        auto got = tagger.tag_batch(batch, CallOptions{strategies[k], {}});
        REQUIRE(got.ok());
        for (auto& e : *got) expected[k].push_back(std::move(e));
      }
    // Four callers at once on the same Tagger: thread k tags every text with strategy k, one text
    // per call (k even) or batches of 7 (k odd), so that calls of every size overlap.
    std::vector<std::vector<std::vector<Entity>>> got(4);
    std::vector<std::string> errors(4);
    std::vector<std::thread> callers;
    for (int k = 0; k < 4; ++k)
      callers.emplace_back([&, k] {
        const CallOptions call{strategies[k], {}};
        const std::size_t step = k % 2 == 0 ? 1 : 7;
        for (std::size_t first = 0; first < texts.size() && errors[k].empty(); first += step) {
          std::vector<std::string> batch(
              texts.begin() + static_cast<std::ptrdiff_t>(first),
              texts.begin() + static_cast<std::ptrdiff_t>(std::min(texts.size(), first + step)));
          auto r = tagger.tag_batch(batch, call);
          if (!r.ok()) errors[k] = r.error().what();
          else
            for (auto& e : *r) got[k].push_back(std::move(e));
        }
      });
    for (std::thread& t : callers) t.join();
    for (int k = 0; k < 4; ++k) {
      CAPTURE(albertner::aggregation_name(strategies[k]));
      CHECK(errors[k] == "");
      REQUIRE(got[k].size() == texts.size());
      std::size_t differing = 0;
      for (std::size_t i = 0; i < texts.size(); ++i) differing += same_entities(got[k][i], expected[k][i]) ? 0 : 1;
      CHECK(differing == 0);
    }
  }
}

TEST_CASE("shared Tagger: a call's options equal a Tagger opened with them") {
  const std::string text = "Angela Merkel met Emmanuel Macron in Paris on Tuesday , Reuters reported from Brussels .";
  const Tagger<> shared = open_tagger(1);
  for (Aggregation a : {Aggregation::none, Aggregation::simple, Aggregation::first, Aggregation::average,
                        Aggregation::max}) {
    CAPTURE(albertner::aggregation_name(a));
    TaggerOptions options;
    options.aggregation = a;
    auto own = Tagger<>::open(model_path, options);
    REQUIRE(own.ok());
    CHECK(own->options().aggregation == a);
    auto want = own->tag(text);
    auto have = shared.tag(text, CallOptions{a, {}});
    REQUIRE(want.ok());
    REQUIRE(have.ok());
    CHECK(same_entities(*want, *have));
  }
  // ignore_labels per call: nothing dropped keeps the O entities of `none`.
  auto all = shared.tag(text, CallOptions{Aggregation::none, std::vector<std::string>{}});
  auto some = shared.tag(text, CallOptions{Aggregation::none, {}});
  REQUIRE(all.ok());
  REQUIRE(some.ok());
  CHECK(all->size() > some->size());
  // The Tagger's own options are unchanged by a call: the bundled model's recommendation (its
  // metadata albertner.aggregation), chosen at open as no option named one.
  CHECK(shared.model().recommended_aggregation() == Aggregation::first);
  CHECK(shared.options().aggregation == Aggregation::first);
}

TEST_CASE("shared Tagger: copies share one model; misuse is an error, not a crash") {
  Tagger<> empty;
  CHECK_FALSE(empty.has_model());
  auto r = empty.tag("Paris");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == albertner::errc::invalid_input);
  CHECK(r.error().what().find("holds no model") != std::string::npos);

  Tagger<> first = open_tagger(2);
  Tagger<> copy = first; // shares the model
  CHECK(&copy.model() == &first.model());
  Tagger<> moved = std::move(first);
  CHECK(moved.has_model());
  CHECK_FALSE(first.has_model()); // NOLINT(bugprone-use-after-move): the documented moved-from state
  CHECK_FALSE(first.tag_batch({"Paris"}).ok());
  CHECK_FALSE(first.document_logits({}).ok());
  auto a = copy.tag("Angela Merkel visited Paris .");
  auto b = moved.tag("Angela Merkel visited Paris .");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(same_entities(*a, *b));

  for (std::size_t threads : {std::size_t(0), std::size_t(257), static_cast<std::size_t>(-1)}) {
    CAPTURE(threads);
    TaggerOptions options;
    options.threads = threads;
    auto t = Tagger<>::open(model_path, options);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().code() == albertner::errc::invalid_input);
    CHECK(t.error().what().find("threads") != std::string::npos);
  }
  auto missing = Tagger<>::open("/nonexistent/model.safetensors");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().what().find("/nonexistent/model.safetensors") != std::string::npos);
}

TEST_CASE("shared Tagger: reserve grows the scratch, and calls then add no workspace") {
  const Tagger<> tagger = open_tagger(2, 4);
  REQUIRE(tagger.reserve(2, 64).ok());
  CHECK_FALSE(open_tagger(1).reserve(1, 100000).ok()); // longer than the model's positions
  auto r = tagger.tag_batch({"EU rejects German call to boycott British lamb .", "Peter Blackburn", "BRUSSELS 1996-08-22",
                             "The European Commission said on Thursday it disagreed with German advice ."});
  REQUIRE(r.ok());
  CHECK(r->size() == 4);
}
