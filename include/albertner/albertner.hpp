// The whole public API of albertner in one include: #include <albertner/albertner.hpp>
#pragma once

#include "config.hpp"
#include "conll.hpp"
#include "converter.hpp"
#include "encoder.hpp"
#include "model.hpp"
#include "safetensors.hpp"
#include "span_decoder.hpp"
#include "status.hpp"
#include "tagger.hpp"
#include "tensor.hpp"
#include "tokenizer.hpp"
