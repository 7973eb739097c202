// The whole public API of albertner in one include: #include <albertner/albertner.hpp>
#pragma once

#include "status.hpp"
#include "tensor.hpp"
#include "config.hpp"
#include "safetensors.hpp"
#include "tokenizer.hpp"
#include "encoder.hpp"
#include "span_decoder.hpp"
#include "model.hpp"
#include "converter.hpp"
#include "tagger.hpp"
#include "conll.hpp"
