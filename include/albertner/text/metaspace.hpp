// The Metaspace decoder (`convert_tokens_to_string` of albert's fast tokenizer), shared by the
// tokenizer and the span decoder so that decoded words agree byte for byte.
#pragma once

#include <string>
#include <vector>

namespace albertner {
namespace detail {

/// U+2581 LOWER ONE EIGHTH BLOCK, sentencepiece's word-boundary mark, in UTF-8.
inline constexpr char kMetaspace[] = "\xE2\x96\x81";

/// Joins `pieces`, turning every `▁` into a space except a `▁` that is the very first character
/// of the joined text, which is dropped (`add_prefix_space=true`). This is tokenizers 0.12's
/// decoder, the release transformers 4.21 pins: `["▁new", "▁york"]` → "new york",
/// `["▁", "(", "x"]` → "(x", `["▁"]` → "". (Later releases drop the `▁`s of the first piece
/// instead; the two differ only when the first piece is empty or holds a `▁` after its start.)
inline std::string metaspace_decode(const std::vector<std::string>& pieces) {
  std::string out;
  bool first_char = true;
  for (const std::string& piece : pieces) {
    std::size_t i = 0;
    while (i < piece.size()) {
      if (piece.compare(i, 3, kMetaspace) == 0) {
        if (!first_char) out += ' ';
        i += 3;
      } else {
        out += piece[i];
        ++i;
      }
      first_char = false;
    }
  }
  return out;
}

} // namespace detail
} // namespace albertner
