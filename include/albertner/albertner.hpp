// The albertner runtime in one include: #include <albertner/albertner.hpp>
// Open a converted model file, tokenize, run the encoder, tag entities. Converting a Hugging Face
// checkpoint and scoring CoNLL files are tooling, included on their own: <albertner/tooling.hpp>.
#pragma once

#include "config.hpp"
#include "encoder.hpp"
#include "model.hpp"
#include "safetensors.hpp"
#include "span_decoder.hpp"
#include "status.hpp"
#include "tagger.hpp"
#include "tensor.hpp"
#include "tokenizer.hpp"
