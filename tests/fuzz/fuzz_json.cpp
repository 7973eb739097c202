// albertner::parse_json on arbitrary bytes, then every reader of parsed JSON that the library has
// (config.json, tokenizer.json / tokenizer_config.json, the model file's tokenizer options), and
// the writer: what dump() prints must parse again.
#include <albertner/model/config.hpp>
#include <albertner/io/json.hpp>
#include <albertner/model/model.hpp>
#include <albertner/text/tokenizer.hpp>

#include "fuzz_common.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>

using namespace albertner;

namespace {
/// Same structure; numbers may change representation (1e2 → 100) and non-finite ones become null.
bool same_shape(const Json& a, const Json& b) {
  if (a.type() == Json::kind::number && !std::isfinite(a.as_double())) return b.is_null() || b.is_number();
  if (a.type() != b.type()) return false;
  switch (a.type()) {
  case Json::kind::string: return a.as_string() == b.as_string();
  case Json::kind::boolean: return a.as_bool() == b.as_bool();
  case Json::kind::array:
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!same_shape(a.items()[i], b.items()[i])) return false;
    return true;
  case Json::kind::object:
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (a.members()[i].first != b.members()[i].first || !same_shape(a.members()[i].second, b.members()[i].second))
        return false;
    return true;
  default: return true;
  }
}
} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto j = albertner::parse_json(reinterpret_cast<const char*>(data), size);
  if (!j.ok()) {
    FUZZ_CHECK(j.error().code() == errc::format);
    return 0;
  }
  const std::string text = j->dump();
  auto again = albertner::parse_json(text);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(same_shape(*j, *again));

  auto config = model_config_from_hf_json(*j);
  if (config.ok()) {
    FUZZ_CHECK(config->validate().ok());
    // The model file stores the config through model_config_to_json; it must read back the same.
    auto stored = albertner::parse_json(model_config_to_json(*config).dump());
    FUZZ_CHECK(stored.ok());
    auto back = model_config_from_hf_json(*stored);
    FUZZ_CHECK(back.ok());
    FUZZ_CHECK(back->labels == config->labels && back->hidden_size == config->hidden_size &&
               back->vocab_size == config->vocab_size && back->hidden_act == config->hidden_act &&
               back->layer_norm_eps == config->layer_norm_eps);
  }
  (void)tokenizer_options_from_hf(&*j, nullptr);
  (void)tokenizer_options_from_hf(nullptr, &*j);
  (void)tokenizer_options_from_hf(&*j, &*j);
  auto options = tokenizer_options_from_json(*j);
  if (options.ok()) {
    auto back = tokenizer_options_from_json(tokenizer_options_to_json(*options));
    FUZZ_CHECK(back.ok() && back->lowercase == options->lowercase && back->keep_accents == options->keep_accents &&
               back->whitespace_split == options->whitespace_split &&
               back->model_max_length == options->model_max_length);
  }
  return 0;
}
