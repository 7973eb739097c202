// albertner_open_memory on arbitrary bytes: the C API's way in for a model linked into flash. Every
// failure must be a status with a message and a NULL handle; whatever opens must tag through the
// C API with every entity inside the text and labelled with a name the tagger owns, and answer a
// buffer too small and invalid UTF-8 with their statuses.
#include <albertner/albertner.h>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  albertner_options options = albertner_options_default();
  options.aggregation = static_cast<int>(size % 6) - 1;                     // every strategy and the model's default
  albertner_tagger* tagger = reinterpret_cast<albertner_tagger*>(&options); // must be overwritten
  const albertner_status opened = albertner_open_memory(data, size, &options, &tagger);
  if (opened != ALBERTNER_OK) {
    FUZZ_CHECK(tagger == nullptr);
    FUZZ_CHECK(opened > ALBERTNER_OK && opened <= ALBERTNER_ERR_OUT_OF_MEMORY);
    FUZZ_CHECK(albertner_last_error()[0] != '\0');
    return 0;
  }
  FUZZ_CHECK(tagger != nullptr);
  const std::size_t labels = albertner_label_count(tagger);
  FUZZ_CHECK(labels >= 1);
  for (std::size_t i = 0; i < labels; ++i) FUZZ_CHECK(albertner_label(tagger, i) != nullptr);
  FUZZ_CHECK(albertner_label(tagger, labels) == nullptr);

  const char text[] = "John lives in Paris, 1996. The john paris.";
  const std::size_t length = sizeof text - 1;
  albertner_entity entities[64];
  std::size_t count = 0;
  const albertner_status tagged = albertner_tag(tagger, text, length, entities, 64, &count);
  if (tagged == ALBERTNER_OK || tagged == ALBERTNER_ERR_BUFFER_TOO_SMALL) {
    for (std::size_t i = 0; i < count && i < 64; ++i) {
      const albertner_entity& e = entities[i];
      FUZZ_CHECK(e.label != nullptr);
      albertner_fuzz::touch(reinterpret_cast<const std::uint8_t*>(e.label), std::strlen(e.label));
      FUZZ_CHECK(e.byte_start <= e.byte_end && e.byte_end <= length);
      FUZZ_CHECK(e.start <= e.end && e.end <= e.byte_end);
    }
    if (count > 0) { // room for none: the count again, nothing written
      std::size_t again = 0;
      FUZZ_CHECK(albertner_tag(tagger, text, length, nullptr, 0, &again) == ALBERTNER_ERR_BUFFER_TOO_SMALL);
      FUZZ_CHECK(again == count);
    }
  } else {
    FUZZ_CHECK(albertner_last_error()[0] != '\0');
  }
  const char bad[] = "Paris \xc3";
  FUZZ_CHECK(albertner_tag(tagger, bad, sizeof bad - 1, entities, 64, &count) == ALBERTNER_ERR_INVALID_INPUT);
  albertner_close(tagger);
  return 0;
}
