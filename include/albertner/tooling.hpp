// albertner's tooling: converting Hugging Face checkpoints into model files (converter.hpp) and
// scoring taggers on CoNLL files (conll.hpp). A product that only runs a converted model needs
// <albertner/albertner.hpp> alone.
#pragma once

#include "albertner.hpp"
#include "conll.hpp"
#include "converter.hpp"
