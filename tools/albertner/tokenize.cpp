// albertner tokenize MODEL [TEXT...]   (no TEXT: JSON lines {"text": ...} or {"words": [...]} on stdin)
#include "cli.hpp"

#include <memory>

namespace albertner_cli {

namespace {
struct TokenizeArgs {
  std::string model;
  std::vector<std::string> texts;
};

using albertner::detail::Json;

std::string encoding_json(const albertner::Encoding& e) {
  std::string out = "{\"input_ids\":[";
  for (std::size_t i = 0; i < e.size(); ++i) out += (i ? "," : "") + std::to_string(e.ids[i]);
  out += "],\"tokens\":[";
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (i) out += ',';
    albertner::detail::json_escape_to(out, e.tokens[i]);
  }
  auto pairs = [&out](const std::vector<std::pair<std::size_t, std::size_t>>& v) {
    for (std::size_t i = 0; i < v.size(); ++i)
      out += (i ? ",[" : "[") + std::to_string(v[i].first) + "," + std::to_string(v[i].second) + "]";
  };
  out += "],\"offsets\":[";
  pairs(e.offsets);
  out += "],\"byte_offsets\":[";
  pairs(e.byte_offsets);
  out += "]";
  if (!e.word_ids.empty()) {
    out += ",\"word_ids\":[";
    for (std::size_t i = 0; i < e.word_ids.size(); ++i)
      out += (i ? "," : "") + (e.word_ids[i] < 0 ? std::string("null") : std::to_string(e.word_ids[i]));
    out += "]";
  }
  return out + "}\n";
}

int run_tokenize(const TokenizeArgs& a) {
  auto model = albertner::Model::open(a.model);
  if (!model.ok()) return fail(model.error());
  auto tokenizer = albertner::make_tokenizer(*model);
  if (!tokenizer.ok()) return fail(tokenizer.error());
  // Everything is encoded before anything is printed: a bad line leaves stdout empty.
  std::string out;
  if (!a.texts.empty()) {
    for (const std::string& text : a.texts) {
      auto e = tokenizer->encode(text);
      if (!e.ok()) return fail(e.error());
      out += encoding_json(*e);
    }
  } else {
    std::size_t number = 0;
    for (const std::string& line : stdin_lines()) {
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto j = parse_json_line(line, number);
      if (!j.ok()) return fail(j.error());
      const Json* text = j->find("text");
      const Json* words = j->find("words");
      albertner::Result<albertner::Encoding> e = albertner::Error(albertner::errc::invalid_input, "");
      if (text && text->is_string()) {
        e = tokenizer->encode(text->as_string());
      } else if (words && words->is_array()) {
        std::vector<std::string> list;
        for (const Json& w : words->items()) {
          if (!w.is_string()) return fail("stdin line " + std::to_string(number) + ": \"words\" must hold strings");
          list.push_back(w.as_string());
        }
        e = tokenizer->encode_words(list);
      } else {
        return fail("stdin line " + std::to_string(number) + ": expected {\"text\": string} or {\"words\": [strings]}");
      }
      if (!e.ok()) return fail(e.error().with_context("stdin line " + std::to_string(number)));
      out += encoding_json(*e);
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
} // namespace

void add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Tokenize text exactly as Hugging Face's fast ALBERT tokenizer");
  cmd->add_option("MODEL", args->model, "Model file")->required();
  cmd->add_option("TEXT", args->texts, "Texts (default: JSON lines on stdin)");
  cmd->callback([args] { exit_status() = run_tokenize(*args); });
}

} // namespace albertner_cli
