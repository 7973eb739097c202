// The Unigram model of Hugging Face tokenizers (models/unigram): best-scoring segmentation over a
// byte trie of the vocabulary, with its tie-breaking and unknown-character fusion.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

class Unigram {
public:
  /// A segment of the encoded string: bytes [begin, end) and its vocabulary id.
  struct Piece {
    std::size_t begin, end;
    std::int32_t id;
  };

  Unigram() = default;

  /// `pieces[i]` has id i and score `scores[i]`. Unknown characters score min(scores) - 10.
  Unigram(const std::vector<std::string>& pieces, const std::vector<double>& scores, std::int32_t unk_id)
      : scores_(scores), unk_id_(unk_id) {
    double min_score = std::numeric_limits<double>::infinity();
    for (double s : scores) min_score = std::min(min_score, s);
    unk_score_ = min_score - 10.0; // K_UNK_PENALTY
    build_trie(pieces);
  }

  /// Id of the piece spelled exactly `s`, or -1.
  std::int32_t find(const char* s, std::size_t size) const {
    std::uint32_t node = 0;
    for (std::size_t i = 0; i < size; ++i)
      if (!child(node, static_cast<unsigned char>(s[i]), node)) return -1;
    return nodes_[node].id;
  }

  /// Viterbi segmentation of the valid UTF-8 `s` (tokenizers' `encode_optimized`): path scores
  /// accumulate in f64 as `piece score + best score so far`; start positions are scanned left to
  /// right and a node is replaced only by a strictly better path, so on ties the piece that starts
  /// earliest wins. Runs of unknown characters come out as one piece, whose id is the vocabulary
  /// id of its text if there is one, else unk.
  void encode(const std::string& s, std::vector<Piece>& out) const {
    struct Node {
      double score = 0;
      std::size_t start = npos;
      std::int32_t id = -1;
    };
    const std::size_t n = s.size();
    std::vector<Node> best(n + 1);
    for (std::size_t at = 0; at < n; at += char_length(static_cast<unsigned char>(s[at]))) {
      const double here = best[at].score;
      const std::size_t char_len = char_length(static_cast<unsigned char>(s[at]));
      bool single_char_piece = false;
      std::uint32_t node = 0;
      for (std::size_t end = at; end < n;) {
        if (!child(node, static_cast<unsigned char>(s[end]), node)) break;
        ++end;
        const std::int32_t id = nodes_[node].id;
        if (id < 0) continue;
        relax(best[end], here + scores_[static_cast<std::size_t>(id)], at, id);
        if (end - at == char_len) single_char_piece = true;
      }
      if (!single_char_piece) relax(best[at + char_len], here + unk_score_, at, unk_id_);
    }

    const std::size_t first = out.size();
    std::size_t unk_end = npos; // end of the run of unknowns being fused, walking backwards
    for (std::size_t end = n; end > 0;) {
      const Node& node = best[end];
      if (node.id == unk_id_) {
        if (unk_end == npos) unk_end = end;
      } else {
        if (unk_end != npos) out.push_back(fused(s, end, unk_end));
        unk_end = npos;
        out.push_back({node.start, end, node.id});
      }
      end = node.start;
    }
    if (unk_end != npos) out.push_back(fused(s, 0, unk_end));
    std::reverse(out.begin() + static_cast<std::ptrdiff_t>(first), out.end());
  }

private:
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  struct TrieNode {
    std::uint32_t first_edge = 0;
    std::uint32_t edge_count = 0;
    std::int32_t id = -1;
  };

  static std::size_t char_length(unsigned char lead) { return lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4; }

  template <class Node>
  static void relax(Node& node, double score, std::size_t start, std::int32_t id) {
    if (node.start == npos || score > node.score) {
      node.score = score;
      node.start = start;
      node.id = id;
    }
  }

  Piece fused(const std::string& s, std::size_t begin, std::size_t end) const {
    const std::int32_t id = find(s.data() + begin, end - begin);
    return {begin, end, id >= 0 ? id : unk_id_};
  }

  bool child(std::uint32_t node, unsigned char c, std::uint32_t& next) const {
    const TrieNode& t = nodes_[node];
    const auto first = labels_.begin() + t.first_edge, last = first + t.edge_count;
    const auto it = std::lower_bound(first, last, c);
    if (it == last || *it != c) return false;
    next = targets_[static_cast<std::size_t>(it - labels_.begin())];
    return true;
  }

  // Breadth-first over the sorted pieces so that each node's edges are contiguous and sorted.
  void build_trie(const std::vector<std::string>& pieces) {
    std::vector<std::uint32_t> order(pieces.size());
    for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](std::uint32_t a, std::uint32_t b) { return pieces[a] < pieces[b]; });
    struct Pending {
      std::uint32_t node;
      std::size_t lo, hi, depth;
    };
    nodes_.assign(1, TrieNode{});
    std::vector<Pending> queue{{0, 0, order.size(), 0}};
    for (std::size_t q = 0; q < queue.size(); ++q) {
      Pending p = queue[q];
      // Pieces equal to the prefix sort first; of duplicates the last id wins, as in tokenizers' map.
      while (p.lo < p.hi && pieces[order[p.lo]].size() == p.depth)
        nodes_[p.node].id = static_cast<std::int32_t>(order[p.lo++]);
      nodes_[p.node].first_edge = static_cast<std::uint32_t>(labels_.size());
      for (std::size_t lo = p.lo; lo < p.hi;) {
        const unsigned char c = static_cast<unsigned char>(pieces[order[lo]][p.depth]);
        std::size_t hi = lo;
        while (hi < p.hi && static_cast<unsigned char>(pieces[order[hi]][p.depth]) == c) ++hi;
        const auto child_node = static_cast<std::uint32_t>(nodes_.size());
        nodes_.push_back(TrieNode{});
        labels_.push_back(c);
        targets_.push_back(child_node);
        ++nodes_[p.node].edge_count;
        queue.push_back({child_node, lo, hi, p.depth + 1});
        lo = hi;
      }
    }
  }

  std::vector<double> scores_;
  double unk_score_ = 0;
  std::int32_t unk_id_ = 0;
  std::vector<TrieNode> nodes_;
  std::vector<unsigned char> labels_;
  std::vector<std::uint32_t> targets_;
};

} // namespace detail
} // namespace albertner
