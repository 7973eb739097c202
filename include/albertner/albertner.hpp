// The albertner runtime in one include: #include <albertner/albertner.hpp>
// Open a converted model file, tokenize, run the encoder, tag entities. Converting a Hugging Face
// checkpoint and scoring CoNLL files are tooling, included on their own: <albertner/tooling.hpp>.
//
// Header-only by default. Applications with many files may compile the engine once: define
// ALBERTNER_DECLARATIONS_ONLY for every file (they see the Tagger's declarations, Entity and
// Result only, and compile in a fraction of the time), and in exactly one file also define
// ALBERTNER_IMPLEMENTATION before this include; that file holds Tagger<> (Tagger<SpanDecoder>).
// A Tagger with a decoder of one's own needs the full header where it is used.
#pragma once

#if defined(ALBERTNER_DECLARATIONS_ONLY) && !defined(ALBERTNER_IMPLEMENTATION)

#include "ner/entity.hpp"
#include "ner/tagger.hpp"
#include "status.hpp"

namespace albertner {
extern template class Tagger<SpanDecoder>;
} // namespace albertner

#else

#include "encoder/encoder.hpp"
#include "io/safetensors.hpp"
#include "io/tensor.hpp"
#include "model/config.hpp"
#include "model/model.hpp"
#include "ner/span_decoder.hpp"
#include "ner/tagger.hpp"
#include "status.hpp"
#include "text/tokenizer.hpp"

#ifdef ALBERTNER_IMPLEMENTATION
namespace albertner {
template class Tagger<SpanDecoder>;
} // namespace albertner
#endif

#endif
