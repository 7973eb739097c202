// albertner logits MODEL [INPUT.json|-] [--hidden]
#include "cli.hpp"
#include "logits_input.hpp"

#include <cmath>
#include <memory>

namespace albertner_cli {

namespace {
struct LogitsArgs {
  std::string model, input = "-";
  bool hidden = false;
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

int run_logits(const LogitsArgs& a) {
  // The model first: a missing model is the error to report, whatever the input holds.
  auto model = albertner::Model::open(a.model);
  if (!model.ok()) return fail(model.error());
  auto encoder = albertner::make_encoder<float>(*model);
  if (!encoder.ok()) return fail(encoder.error());
  auto text = read_input(a.input);
  if (!text.ok()) return fail(text.error());
  auto root = albertner::detail::parse_json(*text);
  if (!root.ok()) return fail(root.error().with_context(a.input == "-" ? "stdin" : a.input));
  auto input = read_logits_input(*root);
  if (!input.ok()) return fail(input.error());
  albertner::Encoder<float>::Workspace workspace;
  auto out = encoder->forward(input->encoder_input(), workspace);
  if (!out.ok()) return fail(out.error());
  std::string json = "{\"logits\":";
  const std::int64_t B = input->batch, T = input->seq_len;
  albertner::Status st = append_tensor(json, "logits", out->logits, B, T, out->num_labels);
  if (!st.ok()) return fail(st.error());
  if (a.hidden) {
    json += ",\"last_hidden_state\":";
    st = append_tensor(json, "last_hidden_state", out->last_hidden_state, B, T, out->hidden_size);
    if (!st.ok()) return fail(st.error());
  }
  json += "}\n";
  std::fwrite(json.data(), 1, json.size(), stdout);
  return 0;
}
} // namespace

void add_logits(CLI::App& app) {
  auto args = std::make_shared<LogitsArgs>();
  CLI::App* cmd = app.add_subcommand("logits", "Run the encoder on token ids and print logits as JSON");
  cmd->add_option("MODEL", args->model, "Model file")->required();
  cmd->add_option("INPUT", args->input, "JSON file with input_ids [, attention_mask, token_type_ids], or - for stdin");
  cmd->add_flag("--hidden", args->hidden, "Also print last_hidden_state");
  cmd->callback([args] { exit_status() = run_logits(*args); });
}

} // namespace albertner_cli
