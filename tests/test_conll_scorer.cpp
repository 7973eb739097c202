// CoNLL evaluation: the reader (formats, DOCSTART, malformed lines), the chunker and scorer on
// hand-computed cases, the scorer on CoNLL-2003 test.txt against perturbed predictions checked by
// an independent reference, and word-level predictions through the tiny golden model.
#include "golden.hpp"
#include "shared.hpp"

#include <albertner/tooling/conll.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using albertner::ChunkCounts;
using albertner::ConllChunk;
using albertner::ConllFormat;
using albertner::ConllScorer;
using albertner::ConllScores;
using albertner::ConllSentence;
using albertner::errc;
using albertner_test::shared_path;
using albertner_test::TempDir;

namespace {

using Tags = std::vector<std::string>;

std::vector<ConllChunk> chunks(const Tags& tags) { return albertner::conll_chunks(tags); }

std::string show(const std::vector<ConllChunk>& cs) {
  std::string s;
  for (const ConllChunk& c : cs) s += c.type + "[" + std::to_string(c.begin) + "," + std::to_string(c.end) + ") ";
  return s;
}

/// Scores sentence pairs, requiring success.
ConllScores score(const std::vector<Tags>& gold, const std::vector<Tags>& predicted) {
  REQUIRE(gold.size() == predicted.size());
  ConllScorer scorer;
  for (std::size_t i = 0; i < gold.size(); ++i) {
    auto st = scorer.add(gold[i], predicted[i]);
    REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().what()));
  }
  return scorer.scores();
}

std::vector<ConllSentence> parse_ok(const std::string& text, ConllFormat format = ConllFormat::gold) {
  auto r = albertner::parse_conll(text, "mem", format);
  REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
  return std::move(r).value();
}

/// The message of a parse that must fail with errc::format.
std::string parse_error(const std::string& text, ConllFormat format = ConllFormat::gold) {
  auto r = albertner::parse_conll(text, "bad.txt", format);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code() == errc::format);
  return r.error().message();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---------------------------------------------------------------------------------------------
// Reference: a different implementation of the lenient B/I/O chunking, for tags of the forms O,
// B-X and I-X only. A chunk is open or not; B always opens a new one, I continues an open chunk
// of its own type and opens a new one otherwise, O closes. Entities are (sentence, start, end,
// type) tuples in a set; true positives are the set intersection.

using Entity = std::tuple<std::size_t, std::size_t, std::size_t, std::string>; // sentence, start, end (exclusive), type

std::set<Entity> reference_entities(const std::vector<Tags>& sentences) {
  std::set<Entity> out;
  for (std::size_t s = 0; s < sentences.size(); ++s) {
    bool open = false;
    std::size_t start = 0;
    std::string type;
    const Tags& tags = sentences[s];
    for (std::size_t i = 0; i <= tags.size(); ++i) {
      const std::string tag = i < tags.size() ? tags[i] : "O";
      const bool outside = tag == "O";
      const std::string t = outside ? "" : tag.substr(2);
      const bool continues = open && !outside && tag[0] == 'I' && t == type;
      if (open && !continues) {
        out.insert(Entity{s, start, i, type});
        open = false;
      }
      if (!outside && !continues) {
        open = true;
        start = i;
        type = t;
      }
    }
  }
  return out;
}

struct Expected {
  std::size_t gold = 0, predicted = 0, correct = 0;
};

/// Expected counts per type ("" = all) from the reference sets.
std::map<std::string, Expected> reference_counts(const std::vector<Tags>& gold, const std::vector<Tags>& predicted) {
  const std::set<Entity> g = reference_entities(gold), p = reference_entities(predicted);
  std::map<std::string, Expected> out;
  for (const Entity& e : g) {
    ++out[""].gold;
    ++out[std::get<3>(e)].gold;
    if (p.count(e)) {
      ++out[""].correct;
      ++out[std::get<3>(e)].correct;
    }
  }
  for (const Entity& e : p) {
    ++out[""].predicted;
    ++out[std::get<3>(e)].predicted;
  }
  return out;
}

/// Checks every count and derived score of `s` against the reference counts.
void check_against_reference(const ConllScores& s, const std::vector<Tags>& gold, const std::vector<Tags>& predicted) {
  std::map<std::string, Expected> want = reference_counts(gold, predicted);
  CHECK(s.overall.gold == want[""].gold);
  CHECK(s.overall.predicted == want[""].predicted);
  CHECK(s.overall.correct == want[""].correct);
  std::size_t types = 0;
  for (const auto& [type, w] : want) {
    if (type.empty()) continue;
    ++types;
    CAPTURE(type);
    auto it = s.per_type.find(type);
    REQUIRE(it != s.per_type.end());
    CHECK(it->second.gold == w.gold);
    CHECK(it->second.predicted == w.predicted);
    CHECK(it->second.correct == w.correct);
    const double p = w.predicted ? double(w.correct) / double(w.predicted) : 0.0;
    const double r = w.gold ? double(w.correct) / double(w.gold) : 0.0;
    CHECK(it->second.precision() == doctest::Approx(p).epsilon(1e-12));
    CHECK(it->second.recall() == doctest::Approx(r).epsilon(1e-12));
    CHECK(it->second.f1() == doctest::Approx(p + r > 0 ? 2 * p * r / (p + r) : 0.0).epsilon(1e-12));
  }
  CHECK(s.per_type.size() == types);
  // Micro F1 = 2 tp / (gold + predicted).
  const Expected& all = want[""];
  CHECK(s.overall.f1() ==
        doctest::Approx(all.gold + all.predicted ? 2.0 * double(all.correct) / double(all.gold + all.predicted) : 0.0)
            .epsilon(1e-12));
  std::size_t tokens = 0, same = 0;
  for (std::size_t i = 0; i < gold.size(); ++i)
    for (std::size_t k = 0; k < gold[i].size(); ++k) {
      ++tokens;
      same += gold[i][k] == predicted[i][k];
    }
  CHECK(s.tokens == tokens);
  CHECK(s.correct_tokens == same);
}

// ---------------------------------------------------------------------------------------------
// Perturbations of gold IOB2 tags.

/// Gold entities of a well-formed IOB2 sentence as (start, end, type), by reading B- and I- runs.
struct Span {
  std::size_t start, end;
  std::string type;
};
std::vector<Span> iob2_spans(const Tags& tags) {
  std::vector<Span> spans;
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].compare(0, 2, "B-") != 0) continue;
    std::size_t j = i + 1;
    while (j < tags.size() && tags[j] == "I-" + tags[i].substr(2)) ++j;
    spans.push_back(Span{i, j, tags[i].substr(2)});
  }
  return spans;
}

/// IOB1 (original CoNLL-2003): I-X everywhere, B-X only for an entity that directly follows one of
/// the same type.
Tags to_iob1(const Tags& tags) {
  Tags out(tags.size(), "O");
  const std::vector<Span> spans = iob2_spans(tags);
  for (std::size_t n = 0; n < spans.size(); ++n) {
    const Span& sp = spans[n];
    for (std::size_t i = sp.start; i < sp.end; ++i) out[i] = "I-" + sp.type;
    if (n > 0 && spans[n - 1].end == sp.start && spans[n - 1].type == sp.type) out[sp.start] = "B-" + sp.type;
  }
  return out;
}

const char* kTypes[] = {"PER", "ORG", "LOC", "MISC"};

std::string other_type(const std::string& type) {
  for (std::size_t i = 0; i < 4; ++i)
    if (type == kTypes[i]) return kTypes[(i + 1) % 4];
  return "PER";
}

const std::vector<ConllSentence>& test_sentences() {
  static std::vector<ConllSentence> sentences = [] {
    auto r = albertner::read_conll(shared_path("data/conll2003/test.txt"));
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().what()));
    return std::move(r).value();
  }();
  return sentences;
}

std::vector<Tags> gold_tags(const std::vector<ConllSentence>& sentences) {
  std::vector<Tags> out;
  for (const ConllSentence& s : sentences) out.push_back(s.gold);
  return out;
}

} // namespace

// ---------------------------------------------------------------------------------------------

TEST_CASE("chunks: hand-worked IOB1, IOB2, IOBES and ill-formed sequences") {
  // IOB1: I-PER after O starts a chunk; B-PER right after I-PER O is a new one.
  CHECK(show(chunks({"I-PER", "I-PER", "O", "B-PER"})) == "PER[0,2) PER[3,4) ");
  // IOB1 adjacent entities of one type: B- separates them.
  CHECK(show(chunks({"I-PER", "B-PER", "I-PER"})) == "PER[0,1) PER[1,3) ");
  // IOB2 equivalent.
  CHECK(show(chunks({"B-PER", "B-PER", "I-PER"})) == "PER[0,1) PER[1,3) ");
  // A type change ends a chunk and the stray I-ORG starts its own.
  CHECK(show(chunks({"B-PER", "I-ORG"})) == "PER[0,1) ORG[1,2) ");
  CHECK(show(chunks({"B-PER", "I-PER", "I-ORG", "I-ORG", "O"})) == "PER[0,2) ORG[2,4) ");
  // The sentence end closes an open chunk.
  CHECK(show(chunks({"O", "B-LOC", "I-LOC"})) == "LOC[1,3) ");
  CHECK(chunks({"O", "O"}).empty());
  CHECK(chunks({}).empty());
  // IOBES.
  CHECK(show(chunks({"S-PER", "B-LOC", "E-LOC", "S-ORG"})) == "PER[0,1) LOC[1,3) ORG[3,4) ");
  CHECK(show(chunks({"E-PER", "I-PER"})) == "PER[0,1) PER[1,2) ");
  CHECK(show(chunks({"B-MISC", "I-MISC", "E-MISC", "O"})) == "MISC[0,3) ");
  // Types may contain '-': the type is what follows the first '-'.
  CHECK(show(chunks({"B-X-Y", "I-X-Y"})) == "X-Y[0,2) ");
}

TEST_CASE("scores: a sentence boundary ends chunks") {
  // One sentence: I-PER I-PER is one entity. Split over two sentences: two entities.
  const ConllScores one = score({{"I-PER", "I-PER"}}, {{"I-PER", "I-PER"}});
  CHECK(one.overall.gold == 1);
  const ConllScores two = score({{"I-PER"}, {"I-PER"}}, {{"I-PER"}, {"I-PER"}});
  CHECK(two.overall.gold == 2);
  CHECK(two.overall.correct == 2);
  CHECK(two.sentences == 2);
  // Gold: two sentences with one PER each; predicted: the same tags, B- in the second. Same chunks.
  const ConllScores three = score({{"O", "I-PER"}, {"I-PER", "O"}}, {{"O", "B-PER"}, {"B-PER", "O"}});
  CHECK(three.overall.gold == 2);
  CHECK(three.overall.predicted == 2);
  CHECK(three.overall.correct == 2);
  CHECK(three.overall.f1() == 1.0);
  CHECK(three.accuracy() == 0.5);
}

TEST_CASE("scores: exact numbers on small cases") {
  SUBCASE("one right, one wrong type") {
    const ConllScores s = score({{"B-PER", "I-PER", "O", "B-LOC"}}, {{"B-PER", "I-PER", "O", "B-ORG"}});
    CHECK(s.overall.gold == 2);
    CHECK(s.overall.predicted == 2);
    CHECK(s.overall.correct == 1);
    CHECK(s.overall.precision() == 0.5);
    CHECK(s.overall.recall() == 0.5);
    CHECK(s.overall.f1() == 0.5);
    CHECK(s.accuracy() == 0.75);
    REQUIRE(s.per_type.size() == 3); // LOC, ORG, PER: gold and predicted types alike
    const ChunkCounts& per = s.per_type.at("PER");
    CHECK((per.gold == 1 && per.predicted == 1 && per.correct == 1 && per.f1() == 1.0));
    const ChunkCounts& loc = s.per_type.at("LOC");
    CHECK((loc.gold == 1 && loc.predicted == 0 && loc.precision() == 0.0 && loc.recall() == 0.0 && loc.f1() == 0.0));
    const ChunkCounts& org = s.per_type.at("ORG");
    CHECK((org.gold == 0 && org.predicted == 1 && org.precision() == 0.0 && org.recall() == 0.0 && org.f1() == 0.0));
  }
  SUBCASE("a boundary error is a miss and a false alarm") {
    const ConllScores s = score({{"B-PER", "I-PER", "I-PER", "O"}}, {{"B-PER", "I-PER", "O", "O"}});
    CHECK(s.overall.gold == 1);
    CHECK(s.overall.predicted == 1);
    CHECK(s.overall.correct == 0);
    CHECK(s.overall.f1() == 0.0);
    CHECK(s.accuracy() == 0.75);
  }
  SUBCASE("P = 2/3, R = 1/2, F1 = 4/7") {
    // Gold: 4 entities; predicted: 3, of which 2 exactly right.
    const ConllScores s = score({{"B-PER", "O", "B-LOC", "O", "B-ORG", "I-ORG", "O", "B-MISC"}},
                                {{"B-PER", "O", "B-LOC", "O", "B-ORG", "O", "O", "O"}});
    CHECK(s.overall.gold == 4);
    CHECK(s.overall.predicted == 3);
    CHECK(s.overall.correct == 2);
    CHECK(s.overall.precision() == doctest::Approx(2.0 / 3.0).epsilon(1e-15));
    CHECK(s.overall.recall() == 0.5);
    CHECK(s.overall.f1() == doctest::Approx(4.0 / 7.0).epsilon(1e-15));
    CHECK(s.accuracy() == doctest::Approx(6.0 / 8.0));
    CHECK(s.per_type.at("ORG").correct == 0);
    CHECK(s.per_type.at("MISC").recall() == 0.0);
  }
  SUBCASE("IOB1 prediction for IOB2 gold: every entity right, tokens differ") {
    const ConllScores s = score({{"B-PER", "I-PER", "B-PER", "O", "B-LOC"}}, {{"I-PER", "I-PER", "B-PER", "O", "I-LOC"}});
    CHECK(s.overall.gold == 3);
    CHECK(s.overall.correct == 3);
    CHECK(s.overall.f1() == 1.0);
    CHECK(s.accuracy() == doctest::Approx(3.0 / 5.0));
  }
  SUBCASE("nothing predicted, nothing gold") {
    const ConllScores s = score({{"O", "O"}}, {{"O", "O"}});
    CHECK(s.overall.precision() == 0.0);
    CHECK(s.overall.recall() == 0.0);
    CHECK(s.overall.f1() == 0.0);
    CHECK(s.per_type.empty());
    CHECK(s.accuracy() == 1.0);
    CHECK(ConllScores().accuracy() == 0.0);
  }
}

TEST_CASE("scores: tag lists of different lengths are an error naming the sentence") {
  ConllScorer scorer;
  REQUIRE(scorer.add({"O"}, {"O"}).ok());
  auto st = scorer.add({"O", "B-PER"}, {"O"});
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code() == errc::invalid_input);
  CHECK(contains(st.error().message(), "sentence 1"));
  std::vector<ConllSentence> sentences = parse_ok("a x O\n\nb x O\nc x B-PER\n");
  sentences[1].predicted = {"O"};
  sentences[0].predicted = {"O"};
  auto r = albertner::score_conll(sentences);
  REQUIRE_FALSE(r.ok());
  CHECK(contains(r.error().message(), "line 3"));
}

TEST_CASE("reader: columns, DOCSTART, blank lines, CRLF, scored files") {
  const std::vector<ConllSentence> s =
      parse_ok("-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\r\n\n\n  \t\nPeter NNP B-NP "
               "B-PER\n-DOCSTART- -X- -X- O\nBlackburn\tNNP\tB-NP\tI-PER");
  REQUIRE(s.size() == 3);
  CHECK(s[0].words == Tags{"EU", "rejects"});
  CHECK(s[0].gold == Tags{"B-ORG", "O"});
  CHECK(s[0].predicted.empty());
  CHECK(s[0].lines == std::vector<std::size_t>{3, 4});
  CHECK(s[1].words == Tags{"Peter"});
  CHECK(s[2].words == Tags{"Blackburn"}); // a DOCSTART line ends the sentence before it
  CHECK(s[2].gold == Tags{"I-PER"});
  CHECK(s[2].lines == std::vector<std::size_t>{10});
  CHECK(parse_ok("").empty());
  CHECK(parse_ok("\n\n-DOCSTART- O\n\n").empty());

  const std::vector<ConllSentence> scored = parse_ok("EU B-ORG I-ORG\nrejects O O\n\nx O B-PER\n", ConllFormat::scored);
  REQUIRE(scored.size() == 2);
  CHECK(scored[0].gold == Tags{"B-ORG", "O"});
  CHECK(scored[0].predicted == Tags{"I-ORG", "O"});
  // A gold file read as scored: the last two columns (CHUNK NER) would be the tags.
  const std::vector<ConllSentence> four = parse_ok("EU NNP B-NP B-ORG\n", ConllFormat::scored);
  CHECK(four[0].gold == Tags{"B-NP"});
  CHECK(four[0].predicted == Tags{"B-ORG"});

  // Written predictions read back.
  const std::string text = albertner::format_conll_scored(scored);
  CHECK(text == "EU B-ORG I-ORG\nrejects O O\n\nx O B-PER\n\n");
  const std::vector<ConllSentence> back = parse_ok(text, ConllFormat::scored);
  REQUIRE(back.size() == 2);
  CHECK(back[0].predicted == scored[0].predicted);
  CHECK(back[1].words == scored[1].words);
}

TEST_CASE("reader: malformed lines are errors naming file and line") {
  CHECK(contains(parse_error("EU NNP B-NP B-ORG\nrejects\n"), "bad.txt:2: 1 column, need at least 2"));
  CHECK(contains(parse_error("EU B-ORG\n\nx O\n", ConllFormat::scored), "bad.txt:1: 2 columns, need at least 3"));
  CHECK(contains(parse_error("EU NNP B-NP B-ORG\n\nrejects VBZ O\n"), "bad.txt:3: 3 columns, but line 1 has 4"));
  CHECK(contains(parse_error("a O\nb LABEL_3\n"), "bad.txt:2: gold tag 'LABEL_3'"));
  CHECK(contains(parse_error("a O\nb B-\n"), "bad.txt:2: gold tag 'B-'"));
  CHECK(contains(parse_error("a O\nb B\n"), "bad.txt:2: gold tag 'B'"));
  CHECK(contains(parse_error("a O O\nb O X-PER\n", ConllFormat::scored), "bad.txt:2: predicted tag 'X-PER'"));
  CHECK(contains(parse_error("\n\nok O\nbad\xff O\n"), "bad.txt:4: the word is not valid UTF-8"));
  CHECK(contains(parse_error("a O\r\nb\r\n"), "bad.txt:2: 1 column"));

  auto missing = albertner::read_conll("/nonexistent/conll.txt");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == errc::io);
}

TEST_CASE("CoNLL-2003 test.txt: read, gold against itself, IOB1, wrong types, boundary errors") {
  if (!albertner_test::have_shared("data/conll2003/test.txt")) return;
  const std::vector<ConllSentence>& sentences = test_sentences();
  // The README's counts: 3,453 sentences, 46,435 tokens, 5,648 entities (1617/1661/1668/702).
  CHECK(sentences.size() == 3453);
  const std::vector<Tags> gold = gold_tags(sentences);

  SUBCASE("gold against itself") {
    const ConllScores s = score(gold, gold);
    CHECK(s.tokens == 46435);
    CHECK(s.overall.gold == 5648);
    CHECK(s.overall.predicted == 5648);
    CHECK(s.overall.correct == 5648);
    CHECK(s.per_type.at("PER").gold == 1617);
    CHECK(s.per_type.at("ORG").gold == 1661);
    CHECK(s.per_type.at("LOC").gold == 1668);
    CHECK(s.per_type.at("MISC").gold == 702);
    CHECK(s.per_type.size() == 4);
    CHECK(s.overall.precision() == 1.0);
    CHECK(s.overall.recall() == 1.0);
    CHECK(s.overall.f1() == 1.0);
    CHECK(s.accuracy() == 1.0);
    check_against_reference(s, gold, gold);
    // Through the file path too: score_conll on sentences whose predictions are their gold tags.
    std::vector<ConllSentence> copy = sentences;
    for (ConllSentence& c : copy) c.predicted = c.gold;
    auto r = albertner::score_conll(copy);
    REQUIRE(r.ok());
    CHECK(r->overall.f1() == 1.0);
    CHECK(r->accuracy() == 1.0);
  }

  SUBCASE("IOB1 conversion: the same entities, F1 1, fewer matching tokens") {
    std::vector<Tags> iob1;
    std::size_t b_kept = 0;
    for (const Tags& t : gold) {
      iob1.push_back(to_iob1(t));
      for (const std::string& tag : iob1.back()) b_kept += tag[0] == 'B';
    }
    const ConllScores s = score(gold, iob1);
    CHECK(s.overall.correct == 5648);
    CHECK(s.overall.predicted == 5648);
    CHECK(s.overall.f1() == 1.0);
    for (const auto& [type, c] : s.per_type) CHECK(c.f1() == 1.0);
    // Every B- of gold became I-, except where an entity follows one of its own type.
    CHECK(b_kept == 20);
    CHECK(s.accuracy() < 1.0);
    CHECK(s.tokens - s.correct_tokens == 5648 - b_kept);
    check_against_reference(s, gold, iob1);
    // And the other way round: IOB1 as gold, IOB2 predicted.
    check_against_reference(score(iob1, gold), iob1, gold);
    CHECK(score(iob1, gold).overall.f1() == 1.0);
  }

  SUBCASE("wrong type on every 3rd entity") {
    std::vector<Tags> pred = gold;
    std::size_t n = 0, changed = 0;
    for (Tags& t : pred)
      for (const Span& sp : iob2_spans(t)) {
        if (n++ % 3 != 0) continue;
        ++changed;
        const std::string type = other_type(sp.type);
        for (std::size_t i = sp.start; i < sp.end; ++i) t[i] = (i == sp.start ? "B-" : "I-") + type;
      }
    CHECK(n == 5648);
    const ConllScores s = score(gold, pred);
    CHECK(s.overall.gold == 5648);
    CHECK(s.overall.predicted == 5648);
    CHECK(s.overall.correct == 5648 - changed);
    CHECK(s.overall.f1() == doctest::Approx(double(5648 - changed) / 5648.0).epsilon(1e-12));
    check_against_reference(s, gold, pred);
  }

  SUBCASE("boundary errors: every 4th multi-token entity shrunk, every 5th entity extended into an O") {
    std::vector<Tags> pred = gold;
    std::size_t shrunk = 0, extended = 0, n = 0, m = 0;
    for (Tags& t : pred) {
      const std::vector<Span> spans = iob2_spans(t);
      for (const Span& sp : spans) {
        if (sp.end - sp.start >= 2 && n++ % 4 == 0) {
          t[sp.end - 1] = "O"; // drop the last word
          ++shrunk;
          continue;
        }
        if (m++ % 5 == 0 && sp.end < t.size() && t[sp.end] == "O") {
          t[sp.end] = "I-" + sp.type; // swallow the word after it
          ++extended;
        }
      }
    }
    CHECK(shrunk > 100);
    CHECK(extended > 100);
    // An extension may touch the next entity only through an O word, which it takes: the next
    // entity then begins with B- and stays separate, so each change spoils exactly one entity.
    const ConllScores s = score(gold, pred);
    CHECK(s.overall.gold == 5648);
    CHECK(s.overall.predicted == 5648);
    CHECK(s.overall.correct == 5648 - shrunk - extended);
    check_against_reference(s, gold, pred);
  }

  SUBCASE("every B- turned into I-: I- after O or another type starts an entity, after its own type continues") {
    std::vector<Tags> pred = gold;
    for (Tags& t : pred)
      for (std::string& tag : t)
        if (tag[0] == 'B') tag[0] = 'I';
    const ConllScores s = score(gold, pred);
    check_against_reference(s, gold, pred);
    // test.txt has 20 entities right after one of the same type: each pair merges into one chunk
    // (counted independently by the Python check that went with this test).
    CHECK(s.overall.predicted == 5648 - 20);
    CHECK(s.overall.correct < 5648 - 20);
  }

  SUBCASE("sentence boundaries end chunks: IOB1 sentences joined into one merge entities") {
    // In IOB1 an entity that ends a sentence and an I- entity of its type that starts the next are
    // two chunks; joined into one sentence they become one.
    std::vector<Tags> iob1;
    for (const Tags& t : gold) iob1.push_back(to_iob1(t));
    std::size_t merges = 0;
    Tags joined;
    for (std::size_t i = 0; i < iob1.size(); ++i) {
      if (i > 0 && iob1[i - 1].back() != "O" && iob1[i].front()[0] == 'I' &&
          iob1[i].front().substr(2) == iob1[i - 1].back().substr(2))
        ++merges;
      joined.insert(joined.end(), iob1[i].begin(), iob1[i].end());
    }
    CHECK(merges > 0);
    CHECK(score(iob1, iob1).overall.gold == 5648);
    CHECK(score({joined}, {joined}).overall.gold == 5648 - merges);
    check_against_reference(score({joined}, {joined}), {joined}, {joined});
    MESSAGE("test.txt in IOB1: " << merges << " entities continue across a sentence boundary when joined");
  }
}

TEST_CASE("random tag sequences: the chunker agrees with the reference on B/I/O tags") {
  // Ill-formed sequences included (I- after O, type changes inside a chunk).
  std::uint32_t state = 12345;
  const auto next = [&state] {
    state = state * 1664525u + 1013904223u;
    return state >> 8;
  };
  const char* tags[] = {"O", "O", "O", "B-PER", "I-PER", "B-ORG", "I-ORG", "I-LOC"};
  std::vector<Tags> gold, pred;
  for (int s = 0; s < 2000; ++s) {
    const std::size_t n = next() % 12;
    Tags g, p;
    for (std::size_t i = 0; i < n; ++i) {
      g.push_back(tags[next() % 8]);
      p.push_back(next() % 3 == 0 ? tags[next() % 8] : g.back());
    }
    gold.push_back(g);
    pred.push_back(p);
  }
  const ConllScores s = score(gold, pred);
  check_against_reference(s, gold, pred);
  CHECK(s.overall.correct > 0);
  CHECK(s.overall.correct < s.overall.gold);
}

TEST_CASE("predict_word_tags: first sub-token argmax, windowed long sentences, words without tokens") {
  if (!albertner_test::have_shared("golden/tiny")) return;
  TempDir dir("conll");
  const std::string model_path = dir / "tiny.albertner";
  albertner_test::convert_or_fail(shared_path("golden/tiny"), model_path);
  albertner::TaggerOptions options;
  options.overlap = 16; // the tiny model has 64 positions
  options.batch_size = 3;
  options.threads = 2;
  auto opened = albertner::Tagger<>::open(model_path, options);
  REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().what()));
  albertner::Tagger<>& tagger = *opened;
  const std::vector<std::string>& labels = tagger.labels();
  const std::size_t L = labels.size();

  // A short sentence, one with a word that gives no token, and one of 150 words (more than 64
  // positions: windowed).
  std::vector<std::vector<std::string>> sentences = {
      {"EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."},
      {"Peter", " ", "Blackburn"},
  };
  std::vector<std::string> long_sentence;
  for (int i = 0; i < 150; ++i) long_sentence.push_back(i % 7 == 3 ? "unbelievably" : "word" + std::to_string(i));
  sentences.push_back(long_sentence);

  std::size_t calls = 0;
  albertner::PredictOptions predict;
  predict.sentences_per_call = 2;
  predict.user = &calls;
  predict.progress = [](void* user, std::size_t done, std::size_t total) {
    ++*static_cast<std::size_t*>(user);
    CHECK(done <= total);
  };
  auto result = albertner::predict_word_tags(tagger, sentences, predict);
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().what()));
  CHECK(calls == 2);
  REQUIRE(result->tags.size() == 3);
  CHECK(result->words_without_tokens == 1);
  CHECK(result->tags[1][1] == "O");

  // Each tag against the encoder run directly: sentence 0 in one unpadded forward pass.
  auto encoder_ids = tagger.tokenizer().encode_words(sentences[0]);
  REQUIRE(encoder_ids.ok());
  std::vector<std::int64_t> ids(encoder_ids->ids.begin(), encoder_ids->ids.end());
  albertner::EncoderInput in;
  in.batch = 1;
  in.seq_len = static_cast<std::int64_t>(ids.size());
  in.input_ids = ids.data();
  albertner::Encoder::Workspace ws;
  auto out = tagger.encoder().forward(in, ws);
  REQUIRE(out.ok());
  std::size_t checked = 0;
  for (std::size_t k = 1; k + 1 < ids.size(); ++k) {
    const std::int32_t w = encoder_ids->word_ids[k];
    if (encoder_ids->word_ids[k - 1] == w) continue; // not the first sub-token
    const float* row = out->logits + k * L;
    const std::size_t best = static_cast<std::size_t>(std::max_element(row, row + L) - row);
    CHECK(result->tags[0][static_cast<std::size_t>(w)] == labels[best]);
    ++checked;
  }
  CHECK(checked == sentences[0].size());

  // The long sentence: more tokens than the model's positions, every word tagged from the stitched
  // logits of its first sub-token.
  std::vector<albertner::Encoding> encodings;
  encodings.push_back(tagger.tokenizer().encode_words(long_sentence).value());
  REQUIRE(encodings[0].size() > 64);
  auto logits = tagger.document_logits(encodings);
  REQUIRE(logits.ok());
  REQUIRE(result->tags[2].size() == 150);
  std::int32_t previous = -1;
  std::set<std::string> distinct;
  for (std::size_t k = 1; k + 1 < encodings[0].size(); ++k) {
    const std::int32_t w = encodings[0].word_ids[k];
    if (w == previous) continue;
    previous = w;
    const float* row = (*logits)[0].data() + k * L;
    CHECK(result->tags[2][static_cast<std::size_t>(w)] == labels[std::max_element(row, row + L) - row]);
    distinct.insert(result->tags[2][static_cast<std::size_t>(w)]);
  }
  CHECK(previous == 149);
  MESSAGE("tiny model, 150-word sentence: " << encodings[0].size() << " tokens, " << distinct.size()
                                            << " distinct tags");

  // predict_conll fills ConllSentence::predicted; scoring then works on them.
  std::vector<ConllSentence> conll = parse_ok("EU B-ORG\nrejects O\n\nPeter B-PER\nBlackburn I-PER\n");
  auto tagged = albertner::predict_conll(tagger, conll);
  REQUIRE(tagged.ok());
  CHECK(conll[0].predicted.size() == 2);
  CHECK(conll[1].predicted.size() == 2);
  CHECK(albertner::score_conll(conll).ok());

  // Invalid UTF-8 in a word: an error naming the sentence.
  auto bad = albertner::predict_word_tags(tagger, {{"ok"}, {"a", "b\xff"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(contains(bad.error().message(), "sentence 1"));
}
