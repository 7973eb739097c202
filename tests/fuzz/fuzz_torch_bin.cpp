// detail::read_torch_bin_buffer (zip central directory, local headers, restricted unpickler,
// tensor views and strided copies) on arbitrary bytes; the same bytes also go straight to the
// unpickler and the zip reader, so that mutations of bare pickles reach the machine directly.
#include <albertner/tooling/pickle.hpp>
#include <albertner/tooling/torch_bin.hpp>
#include <albertner/tooling/zip.hpp>

#include "fuzz_common.hpp"

#include <cstddef>
#include <cstdint>

using namespace albertner;
using namespace albertner::detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto c = read_torch_bin_buffer(data, size, "fuzz.bin");
  if (c.ok()) {
    for (const TensorView& t : c->tensors) {
      FUZZ_CHECK(c->find(t.name) != nullptr);
      FUZZ_CHECK(t.nbytes == static_cast<std::size_t>(t.numel()) * dtype_size(t.type));
      albertner_fuzz::touch(t.data, t.nbytes); // inside the buffer or an owned strided copy
    }
  } else {
    FUZZ_CHECK(c.error().message().rfind("fuzz.bin", 0) == 0); // errors name the file
  }

  auto graph = unpickle(data, size, "fuzz.pkl");
  if (graph.ok()) {
    FUZZ_CHECK(graph->root < graph->nodes.size());
    for (const PickleNode& n : graph->nodes)
      for (PickleId id : n.items) FUZZ_CHECK(id < graph->nodes.size());
  } else if (graph.error().code() == errc::security) {
    FUZZ_CHECK(graph.error().message().find("allow-list") != std::string::npos);
  }

  auto zip = ZipReader::open(data, size, "fuzz.zip");
  if (zip.ok())
    for (const ZipEntry& e : zip->entries()) {
      FUZZ_CHECK(zip->find(e.name) == &e);
      auto bytes = zip->read(e);
      if (bytes.ok()) {
        FUZZ_CHECK(bytes->size == 0 || (bytes->data >= data && bytes->data + bytes->size <= data + size));
        albertner_fuzz::touch(bytes->data, bytes->size);
      }
    }
  return 0;
}
