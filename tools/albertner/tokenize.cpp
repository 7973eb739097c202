// albertner tokenize [-m MODEL] [-i INPUT] [-o OUTPUT] [--input-format text|jsonl] [TEXT...]
// One JSON line per text: input_ids, tokens, offsets, byte_offsets (word_ids for word lists); `logits` reads it.
#include "cli.hpp"

#include <memory>

namespace albertner_cli {

namespace {
struct TokenizeArgs {
  std::string model, input = "-", output, input_format = "text";
  std::string first;
  std::vector<std::string> texts;
  ProgressFlags progress;
  bool input_given = false;
};

using albertner::Json;

std::string encoding_json(const albertner::Encoding& e) {
  std::string out = "{\"input_ids\":[";
  for (std::size_t i = 0; i < e.size(); ++i) out += (i ? "," : "") + std::to_string(e.ids[i]);
  out += "],\"tokens\":[";
  for (std::size_t i = 0; i < e.size(); ++i) {
    if (i) out += ',';
    albertner::json_escape_to(out, e.tokens[i]);
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

// One record: {"text": ...} or {"words": [...]} from a JSON line, or the text itself.
albertner::Result<albertner::Encoding> encode_record(const albertner::Tokenizer& tokenizer, const std::string& line,
                                                     bool jsonl, const std::string& where) {
  if (!jsonl) {
    auto e = tokenizer.encode(line);
    if (!e.ok()) return albertner::Error(e.error().code(), where + ": " + e.error().message());
    return e;
  }
  ALBERTNER_TRY(Json j, parse_json_line(line, where));
  const Json* text = j.find("text");
  const Json* words = j.find("words");
  albertner::Result<albertner::Encoding> e = albertner::Error(albertner::errc::invalid_input, "");
  if (text && text->is_string()) {
    e = tokenizer.encode(text->as_string());
  } else if (words && words->is_array()) {
    std::vector<std::string> list;
    for (const Json& w : words->items()) {
      if (!w.is_string())
        return albertner::Error(albertner::errc::invalid_input, where + ": \"words\" must hold strings");
      list.push_back(w.as_string());
    }
    e = tokenizer.encode_words(list);
  } else {
    return albertner::Error(albertner::errc::invalid_input,
                            where + ": expected {\"text\": string} or {\"words\": [strings]}");
  }
  if (!e.ok()) return albertner::Error(e.error().code(), where + ": " + e.error().message());
  return e;
}

int run_tokenize(TokenizeArgs a) {
  const std::string model_path = take_model(a.model, a.texts);
  if (a.input_given && !a.texts.empty()) return usage("give texts either as arguments or with -i/--input, not both");
  auto model = open_model(model_path);
  if (!model.ok()) return fail(model.error());
  auto tokenizer = albertner::make_tokenizer(*model);
  if (!tokenizer.ok()) return fail(tokenizer.error());
  auto out = Output::open(a.output);
  if (!out.ok()) return fail(out.error());
  // Each record is written as soon as it is encoded; a bad one stops the run after the ones before it.
  if (!a.texts.empty()) {
    for (std::size_t i = 0; i < a.texts.size(); ++i) {
      auto e = encode_record(*tokenizer, a.texts[i], false, "argument " + std::to_string(i + 1));
      if (!e.ok()) return fail(e.error());
      albertner::Status st = (*out)->write(encoding_json(*e));
      if (!st.ok()) return fail(st.error());
    }
  } else {
    auto reader = LineReader::open(a.input);
    if (!reader.ok()) return fail(reader.error());
    LineReader& in = **reader;
    ProgressLine progress(a.progress.enabled(), "tokenize", "lines");
    std::string line, pending;
    std::size_t done = 0;
    for (;;) {
      auto got = in.next(line, pending.empty());
      if (!got.ok()) return fail(got.error());
      if (*got != LineReader::Got::line) {
        albertner::Status st = (*out)->write(pending);
        if (!st.ok()) return fail(st.error());
        pending.clear();
        progress.update(done, in.size() ? static_cast<double>(in.bytes_read()) / static_cast<double>(in.size()) : -1);
        if (*got == LineReader::Got::end) break;
        continue;
      }
      if (a.input_format == "jsonl" && line.find_first_not_of(" \t\r") == std::string::npos) continue;
      auto e = encode_record(*tokenizer, line, a.input_format == "jsonl",
                             in.name() + " line " + std::to_string(in.line_number()));
      if (!e.ok()) {
        albertner::Status st = (*out)->write(pending);
        return st.ok() ? fail(e.error()) : fail(st.error());
      }
      pending += encoding_json(*e);
      ++done;
      if (pending.size() > (1u << 16)) {
        albertner::Status st = (*out)->write(pending);
        if (!st.ok()) return fail(st.error());
        pending.clear();
      }
    }
    progress.finish(done);
  }
  albertner::Status st = (*out)->commit();
  if (!st.ok()) return fail(st.error());
  return 0;
}
} // namespace

void add_tokenize(CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand("tokenize", "Tokenize text exactly as Hugging Face's fast ALBERT tokenizer");
  // Two positionals, so that texts may follow "--" after a model given as the first argument.
  CLI::Option* first = cmd->add_option("FIRST", args->first, "The model (a file, see TEXT) or the first text");
  cmd->add_option("TEXT", args->texts,
                  "Texts (default: the lines of -i/--input); without -m, a first argument ending in .safetensors or "
                  "naming a file is the model");
  add_model_option(cmd, args->model);
  CLI::Option* input =
      cmd->add_option("-i,--input", args->input, "Input file, one record per line (- : stdin)")->capture_default_str();
  add_output_option(cmd, args->output);
  cmd->add_option("--input-format", args->input_format,
                  "text: one text per line (as tag); jsonl: {\"text\": string} or {\"words\": [strings]} per line")
      ->check(CLI::IsMember({"text", "jsonl"}))
      ->capture_default_str();
  args->progress.add(cmd);
  cmd->callback([args, first, input] {
    if (first->count() > 0) args->texts.insert(args->texts.begin(), args->first);
    args->input_given = input->count() > 0;
    exit_status() = run_tokenize(*args);
  });
}

} // namespace albertner_cli
