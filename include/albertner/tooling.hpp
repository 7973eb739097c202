// albertner's tooling: converting Hugging Face checkpoints into model files (converter.hpp),
// scoring taggers on CoNLL files (conll.hpp), writing safetensors files (safetensors_writer.hpp)
// and files atomically (files.hpp). A product that only runs a converted model needs
// <albertner/albertner.hpp> alone.
#pragma once

#include "albertner.hpp"
#include "tooling/conll.hpp"
#include "tooling/converter.hpp"
#include "tooling/files.hpp"
#include "tooling/safetensors_writer.hpp"
