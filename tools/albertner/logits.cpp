// albertner logits [-m MODEL] [-i INPUT.json|-] [-o OUT] [--hidden]   (positional: [MODEL] [INPUT])
#include "cli.hpp"
#include "logits_input.hpp"

#include <cmath>
#include <memory>

namespace albertner_cli {

namespace {
struct LogitsArgs {
  std::string model, input = "-", output;
  std::vector<std::string> positionals;
  bool hidden = false, input_given = false;
};

using albertner::errc;
using albertner::Error;

// JSON has no NaN or infinity: such a value (from NaN or Inf weights) is an error, not output.
albertner::Status append_tensor(std::string& out, const char* name, const float* data, std::int64_t B, std::int64_t T,
                                std::int64_t C) {
  out += '[';
  for (std::int64_t b = 0; b < B; ++b) {
    out += b ? ",[" : "[";
    for (std::int64_t t = 0; t < T; ++t) {
      out += t ? ",[" : "[";
      for (std::int64_t c = 0; c < C; ++c) {
        const float v = data[(b * T + t) * C + c];
        if (!std::isfinite(v))
          return Error(errc::invalid_input, std::string(name) + " at batch row " + std::to_string(b) + ", position " +
                                                std::to_string(t) + ", column " + std::to_string(c) +
                                                " is not finite (does the model hold NaN or Inf weights?)");
        if (c) out += ',';
        append_float(out, v);
      }
      out += ']';
    }
    out += ']';
  }
  out += ']';
  return albertner::ok_status();
}

// One input document's logits (and hidden states) as one JSON line.
int logits_line(const albertner::Encoder& encoder, albertner::Encoder::Workspace& workspace,
                const albertner::Json& root, const std::string& where, bool hidden, std::string& json) {
  auto input = read_logits_input(root);
  if (!input.ok()) return fail(input.error().with_context(where));
  auto out = encoder.forward(input->encoder_input(), workspace);
  if (!out.ok()) return fail(out.error().with_context(where));
  json += "{\"logits\":";
  const std::int64_t B = input->batch, T = input->seq_len;
  albertner::Status st = append_tensor(json, "logits", out->logits, B, T, out->num_labels);
  if (!st.ok()) return fail(st.error());
  if (hidden) {
    json += ",\"last_hidden_state\":";
    st = append_tensor(json, "last_hidden_state", out->last_hidden_state, B, T, out->hidden_size);
    if (!st.ok()) return fail(st.error());
  }
  json += "}\n";
  return 0;
}

int run_logits(LogitsArgs a) {
  const std::string model_path = take_model(a.model, a.positionals);
  if (a.positionals.size() > 1)
    return usage("logits reads one input (a file or -); got " + std::to_string(a.positionals.size()));
  if (!a.positionals.empty()) {
    if (a.input_given) return usage("give the input either as an argument or with -i/--input, not both");
    a.input = a.positionals.front();
  }
  // The model first: a missing model is the error to report, whatever the input holds.
  auto model = open_model(model_path);
  if (!model.ok()) return fail(model.error());
  auto encoder = albertner::make_encoder(*model);
  if (!encoder.ok()) return fail(encoder.error());
  auto text = read_input(a.input);
  if (!text.ok()) return fail(text.error());
  const std::string name = a.input == "-" ? "stdin" : a.input;
  albertner::Encoder::Workspace workspace;
  std::string json;
  // One JSON document (any layout), else JSON lines (`albertner tokenize`'s output): one result each.
  auto root = albertner::parse_json(*text);
  if (root.ok()) {
    const int s = logits_line(*encoder, workspace, *root, name, a.hidden, json);
    if (s) return s;
  } else {
    std::size_t number = 0, records = 0;
    for (std::size_t at = 0; at < text->size();) {
      std::size_t end = text->find('\n', at);
      if (end == std::string::npos) end = text->size();
      const std::string line = text->substr(at, end - at);
      at = end + 1;
      ++number;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      const std::string where = name + " line " + std::to_string(number);
      auto j = albertner::parse_json(line);
      if (!j.ok()) return fail(j.error().with_context(where));
      const int s = logits_line(*encoder, workspace, *j, where, a.hidden, json);
      if (s) return s;
      ++records;
    }
    if (records == 0) return fail(root.error().with_context(name));
  }
  return write_all(a.output, json);
}
} // namespace

void add_logits(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  CLI::App* cmd = app.add_subcommand("logits", "Run the encoder on token ids and print logits as JSON");
  cmd->add_option("[MODEL] INPUT", args->positionals,
                  "Without -m, a first argument ending in .safetensors or naming a file is the model; then the input");
  add_model_option(cmd, args->model);
  CLI::Option* input =
      cmd->add_option("-i,--input", args->input,
                      "JSON with input_ids ([[...]] or one sequence [...]) [, attention_mask, token_type_ids]; or "
                      "JSON lines of them, e.g. `albertner tokenize` output (- : stdin)")
          ->capture_default_str();
  add_output_option(cmd, args->output);
  cmd->add_flag("--hidden", args->hidden, "Also print last_hidden_state");
  cmd->callback([args, input] {
    args->input_given = input->count() > 0;
    exit_status() = run_logits(*args);
  });
}

} // namespace albertner_cli
