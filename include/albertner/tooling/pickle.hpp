// A restricted unpickler for torch.save's data.pkl. It is a small stack machine that only builds
// a graph of plain values: nothing is ever imported or called. GLOBAL names are checked against a
// fixed allow-list the moment they are read, and REDUCE on an allowed callable records the call
// for the caller to interpret. Stack, memo and node counts are bounded, so hostile input costs
// at most a bounded amount of memory and ends in an Error.
#pragma once

#include "../status.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace albertner {
namespace detail {

/// The only globals a pickle may name.
enum class PickleGlobal : std::uint8_t {
  none,
  ordered_dict,      ///< collections.OrderedDict
  rebuild_tensor_v2, ///< torch._utils._rebuild_tensor_v2
  rebuild_parameter, ///< torch._utils._rebuild_parameter
  torch_size,        ///< torch.Size
  float_storage,
  double_storage,
  half_storage,
  bfloat16_storage,
  long_storage,
  int_storage,
  short_storage,
  char_storage,
  byte_storage,
  bool_storage,
};

/// Maps "module", "name" to an allowed global; PickleGlobal::none when it is not allowed.
inline PickleGlobal find_allowed_global(const std::string& module, const std::string& name) noexcept {
  struct Allowed {
    const char* module;
    const char* name;
    PickleGlobal global;
  };
  static const Allowed allowed[] = {
      {"collections", "OrderedDict", PickleGlobal::ordered_dict},
      {"torch._utils", "_rebuild_tensor_v2", PickleGlobal::rebuild_tensor_v2},
      {"torch._utils", "_rebuild_parameter", PickleGlobal::rebuild_parameter},
      {"torch", "Size", PickleGlobal::torch_size},
      {"torch", "FloatStorage", PickleGlobal::float_storage},
      {"torch", "DoubleStorage", PickleGlobal::double_storage},
      {"torch", "HalfStorage", PickleGlobal::half_storage},
      {"torch", "BFloat16Storage", PickleGlobal::bfloat16_storage},
      {"torch", "LongStorage", PickleGlobal::long_storage},
      {"torch", "IntStorage", PickleGlobal::int_storage},
      {"torch", "ShortStorage", PickleGlobal::short_storage},
      {"torch", "CharStorage", PickleGlobal::char_storage},
      {"torch", "ByteStorage", PickleGlobal::byte_storage},
      {"torch", "BoolStorage", PickleGlobal::bool_storage},
  };
  for (const Allowed& a : allowed)
    if (module == a.module && name == a.name) return a.global;
  return PickleGlobal::none;
}

using PickleId = std::uint32_t;

/// One value built by the machine. Containers refer to other nodes by id, so memo sharing and
/// even cycles are just ids, never owning pointers.
struct PickleNode {
  enum class kind : std::uint8_t {
    none,
    boolean,
    integer,
    floating,
    string,
    tuple,
    list,
    dict,   ///< items: key, value, key, value, ... (also what OrderedDict() yields)
    global, ///< an allowed global, not called
    persid, ///< BINPERSID: items[0] is the persistent id
    call,   ///< REDUCE of an allowed callable: `global` is the callable, items[0] the args tuple
  };
  kind type = kind::none;
  PickleGlobal global = PickleGlobal::none;
  std::int64_t integer = 0; ///< integer, boolean (0/1)
  double floating = 0;
  std::string text; ///< string (UTF-8 bytes as stored), or "module.name" for global/call
  std::vector<PickleId> items;
  std::size_t offset = 0; ///< byte offset of the opcode that made it, for error messages
};

inline const char* pickle_kind_name(PickleNode::kind k) noexcept {
  switch (k) {
  case PickleNode::kind::none: return "None";
  case PickleNode::kind::boolean: return "bool";
  case PickleNode::kind::integer: return "int";
  case PickleNode::kind::floating: return "float";
  case PickleNode::kind::string: return "str";
  case PickleNode::kind::tuple: return "tuple";
  case PickleNode::kind::list: return "list";
  case PickleNode::kind::dict: return "dict";
  case PickleNode::kind::global: return "global";
  case PickleNode::kind::persid: return "persistent id";
  case PickleNode::kind::call: return "call";
  }
  return "?";
}

/// The unpickled graph: all nodes, and the id of the object STOP returned.
struct PickleGraph {
  std::vector<PickleNode> nodes;
  PickleId root = 0;
  const PickleNode& operator[](PickleId id) const { return nodes[id]; }
};

/// Limits that keep hostile pickles from exhausting memory.
struct PickleLimits {
  std::size_t max_stack = std::size_t(1) << 20; ///< values on the stack, all marks included
  std::size_t max_marks = std::size_t(1) << 16; ///< open MARKs
  std::size_t max_memo = std::size_t(1) << 22;  ///< highest memo index + 1
  /// Values built in total. A node takes ~90 bytes for 2 bytes of pickle ("Na" repeated), so 8M
  /// cost 750 MB; 2M (~200 MB) is still ~100x what a large real state_dict needs (~20 per tensor).
  std::size_t max_nodes = std::size_t(1) << 21;
};

namespace pickle_detail {

class Machine {
public:
  Machine(const std::uint8_t* data, std::size_t size, const std::string& name, const PickleLimits& limits)
      : data_(data), size_(size), name_(name), limits_(limits) {}

  Result<PickleGraph> run() {
    while (true) {
      if (pos_ >= size_) return fail(errc::format, "ends without a STOP opcode", size_);
      const std::size_t at = pos_;
      const std::uint8_t op = data_[pos_++];
      switch (op) {
      case 0x80: { // PROTO
        ALBERTNER_TRY(std::uint64_t v, read_uint(1, at));
        if (v > 5) return fail(errc::unsupported, "pickle protocol " + std::to_string(v), at);
        break;
      }
      case 0x95: { // FRAME: only a length hint; check it and read on
        ALBERTNER_TRY(std::uint64_t len, read_uint(8, at));
        if (len > size_ - pos_)
          return fail(errc::format, "FRAME of " + std::to_string(len) + " bytes runs past the end", at);
        break;
      }
      case '.': { // STOP
        ALBERTNER_TRY(PickleId top, pop(at));
        graph_.root = top;
        return std::move(graph_);
      }
      case '(': // MARK
        if (marks_.size() >= limits_.max_marks) return fail(errc::format, "too many nested MARKs", at);
        marks_.push_back(stack_.size());
        break;
      case ')': ALBERTNER_CHECK(push_new(PickleNode::kind::tuple, at)); break; // EMPTY_TUPLE
      case ']': ALBERTNER_CHECK(push_new(PickleNode::kind::list, at)); break;  // EMPTY_LIST
      case '}': ALBERTNER_CHECK(push_new(PickleNode::kind::dict, at)); break;  // EMPTY_DICT
      case 'N': ALBERTNER_CHECK(push_new(PickleNode::kind::none, at)); break;  // NONE
      case 0x88:                                                               // NEWTRUE
      case 0x89: {                                                             // NEWFALSE
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::boolean, at));
        graph_.nodes[id].integer = op == 0x88;
        break;
      }
      case 't': { // TUPLE
        ALBERTNER_TRY(std::vector<PickleId> items, pop_mark(at));
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::tuple, at));
        graph_.nodes[id].items = std::move(items);
        break;
      }
      case 0x85:   // TUPLE1
      case 0x86:   // TUPLE2
      case 0x87: { // TUPLE3
        std::size_t n = op - 0x84u;
        if (stack_above_mark() < n) return fail(errc::format, "TUPLE" + std::to_string(n) + ": stack underflow", at);
        std::vector<PickleId> items(stack_.end() - static_cast<std::ptrdiff_t>(n), stack_.end());
        stack_.resize(stack_.size() - n);
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::tuple, at));
        graph_.nodes[id].items = std::move(items);
        break;
      }
      case 'a': { // APPEND
        ALBERTNER_TRY(PickleId v, pop(at));
        ALBERTNER_TRY(PickleId list, top(at));
        ALBERTNER_CHECK(extend(list, PickleNode::kind::list, &v, 1, "APPEND", at));
        break;
      }
      case 'e': { // APPENDS
        ALBERTNER_TRY(std::vector<PickleId> items, pop_mark(at));
        ALBERTNER_TRY(PickleId list, top(at));
        ALBERTNER_CHECK(extend(list, PickleNode::kind::list, items.data(), items.size(), "APPENDS", at));
        break;
      }
      case 's': { // SETITEM
        ALBERTNER_TRY(PickleId v, pop(at));
        ALBERTNER_TRY(PickleId k, pop(at));
        ALBERTNER_TRY(PickleId dict, top(at));
        PickleId kv[2] = {k, v};
        ALBERTNER_CHECK(extend(dict, PickleNode::kind::dict, kv, 2, "SETITEM", at));
        break;
      }
      case 'u': { // SETITEMS
        ALBERTNER_TRY(std::vector<PickleId> items, pop_mark(at));
        if (items.size() % 2) return fail(errc::format, "SETITEMS with an odd number of values", at);
        ALBERTNER_TRY(PickleId dict, top(at));
        ALBERTNER_CHECK(extend(dict, PickleNode::kind::dict, items.data(), items.size(), "SETITEMS", at));
        break;
      }
      case 'q': { // BINPUT
        ALBERTNER_TRY(std::uint64_t i, read_uint(1, at));
        ALBERTNER_CHECK(memo_put(i, at));
        break;
      }
      case 'r': { // LONG_BINPUT
        ALBERTNER_TRY(std::uint64_t i, read_uint(4, at));
        ALBERTNER_CHECK(memo_put(i, at));
        break;
      }
      case 0x94: // MEMOIZE
        ALBERTNER_CHECK(memo_put(memo_count_, at));
        break;
      case 'h': { // BINGET
        ALBERTNER_TRY(std::uint64_t i, read_uint(1, at));
        ALBERTNER_CHECK(memo_get(i, at));
        break;
      }
      case 'j': { // LONG_BINGET
        ALBERTNER_TRY(std::uint64_t i, read_uint(4, at));
        ALBERTNER_CHECK(memo_get(i, at));
        break;
      }
      case 'K':   // BININT1
      case 'M': { // BININT2
        ALBERTNER_TRY(std::uint64_t v, read_uint(op == 'K' ? 1 : 2, at));
        ALBERTNER_CHECK(push_int(static_cast<std::int64_t>(v), at));
        break;
      }
      case 'J': { // BININT: signed 32-bit
        ALBERTNER_TRY(std::uint64_t v, read_uint(4, at));
        ALBERTNER_CHECK(push_int(static_cast<std::int32_t>(static_cast<std::uint32_t>(v)), at));
        break;
      }
      case 0x8a: { // LONG1: little-endian two's complement of n bytes
        ALBERTNER_TRY(std::uint64_t n, read_uint(1, at));
        if (n > 8)
          return fail(errc::unsupported, "LONG1 integer of " + std::to_string(n) + " bytes (more than 64 bits)", at);
        ALBERTNER_TRY(std::uint64_t v, read_uint(static_cast<std::size_t>(n), at));
        if (n > 0 && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~std::uint64_t(0) << (8 * n);
        std::int64_t s;
        std::memcpy(&s, &v, sizeof s);
        ALBERTNER_CHECK(push_int(s, at));
        break;
      }
      case 'G': { // BINFLOAT: big-endian IEEE double
        if (size_ - pos_ < 8) return fail(errc::format, "BINFLOAT runs past the end", at);
        std::uint64_t bits = 0;
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | data_[pos_ + i];
        pos_ += 8;
        double d;
        std::memcpy(&d, &bits, sizeof d);
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::floating, at));
        graph_.nodes[id].floating = d;
        break;
      }
      case 'X':    // BINUNICODE
      case 0x8c: { // SHORT_BINUNICODE
        ALBERTNER_TRY(std::uint64_t len, read_uint(op == 'X' ? 4 : 1, at));
        if (len > size_ - pos_)
          return fail(errc::format, "string of " + std::to_string(len) + " bytes runs past the end", at);
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::string, at));
        graph_.nodes[id].text.assign(reinterpret_cast<const char*>(data_ + pos_), static_cast<std::size_t>(len));
        pos_ += static_cast<std::size_t>(len);
        break;
      }
      case 'c': { // GLOBAL "module\nname\n"
        ALBERTNER_TRY(std::string module, read_line(at));
        ALBERTNER_TRY(std::string name, read_line(at));
        ALBERTNER_CHECK(push_global(module, name, at));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        ALBERTNER_TRY(PickleId name, pop(at));
        ALBERTNER_TRY(PickleId module, pop(at));
        if (graph_.nodes[module].type != PickleNode::kind::string ||
            graph_.nodes[name].type != PickleNode::kind::string)
          return fail(errc::format, "STACK_GLOBAL needs two strings", at);
        std::string m = graph_.nodes[module].text, n = graph_.nodes[name].text;
        ALBERTNER_CHECK(push_global(m, n, at));
        break;
      }
      case 'Q': { // BINPERSID
        ALBERTNER_TRY(PickleId pid, pop(at));
        ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::persid, at));
        graph_.nodes[id].items.push_back(pid);
        break;
      }
      case 'R': // REDUCE
        ALBERTNER_CHECK(reduce(at));
        break;
      case 'b': { // BUILD: only the OrderedDict state (e.g. `_metadata`), which carries no tensors
        ALBERTNER_TRY(PickleId state, pop(at));
        (void)state;
        ALBERTNER_TRY(PickleId target, top(at));
        if (graph_.nodes[target].type != PickleNode::kind::dict)
          return fail(errc::unsupported, std::string("BUILD on a ") + pickle_kind_name(graph_.nodes[target].type), at);
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        return fail(errc::format, std::string("unknown or unsupported opcode ") + hex, at);
      }
      }
    }
  }

private:
  Error fail(errc code, const std::string& message, std::size_t at) const {
    return Error(code, name_ + ": pickle: " + message + " at byte " + std::to_string(at));
  }

  Result<std::uint64_t> read_uint(std::size_t n, std::size_t at) {
    if (size_ - pos_ < n) return fail(errc::format, "opcode argument runs past the end", at);
    std::uint64_t v = 0;
    for (std::size_t i = n; i-- > 0;) v = (v << 8) | data_[pos_ + i];
    pos_ += n;
    return v;
  }

  Result<std::string> read_line(std::size_t at) {
    const void* nl = std::memchr(data_ + pos_, '\n', size_ - pos_);
    if (!nl) return fail(errc::format, "GLOBAL argument without a newline", at);
    std::size_t len = static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - (data_ + pos_));
    std::string s(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len + 1;
    return s;
  }

  std::size_t stack_above_mark() const { return stack_.size() - (marks_.empty() ? 0 : marks_.back()); }

  Status push(PickleId id, std::size_t at) {
    if (stack_.size() >= limits_.max_stack)
      return fail(errc::format, "stack deeper than " + std::to_string(limits_.max_stack), at);
    stack_.push_back(id);
    return ok_status();
  }

  Result<PickleId> push_new(PickleNode::kind k, std::size_t at) {
    if (graph_.nodes.size() >= limits_.max_nodes)
      return fail(errc::format, "more than " + std::to_string(limits_.max_nodes) + " values", at);
    PickleId id = static_cast<PickleId>(graph_.nodes.size());
    graph_.nodes.emplace_back();
    graph_.nodes.back().type = k;
    graph_.nodes.back().offset = at;
    ALBERTNER_CHECK(push(id, at));
    return id;
  }

  Status push_int(std::int64_t v, std::size_t at) {
    ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::integer, at));
    graph_.nodes[id].integer = v;
    return ok_status();
  }

  // Values pushed after the innermost MARK belong to it: popping across it is an underflow.
  Result<PickleId> pop(std::size_t at) {
    if (stack_above_mark() == 0) return fail(errc::format, "stack underflow", at);
    PickleId id = stack_.back();
    stack_.pop_back();
    return id;
  }

  Result<PickleId> top(std::size_t at) const {
    if (stack_above_mark() == 0) return fail(errc::format, "stack underflow", at);
    return stack_.back();
  }

  Result<std::vector<PickleId>> pop_mark(std::size_t at) {
    if (marks_.empty()) return fail(errc::format, "no MARK to pop to", at);
    std::size_t mark = marks_.back();
    marks_.pop_back();
    std::vector<PickleId> items(stack_.begin() + static_cast<std::ptrdiff_t>(mark), stack_.end());
    stack_.resize(mark);
    return items;
  }

  Status extend(PickleId target, PickleNode::kind want, const PickleId* ids, std::size_t n, const char* op,
                std::size_t at) {
    PickleNode& node = graph_.nodes[target];
    if (node.type != want) return fail(errc::format, std::string(op) + " on a " + pickle_kind_name(node.type), at);
    node.items.insert(node.items.end(), ids, ids + n);
    return ok_status();
  }

  Status memo_put(std::uint64_t index, std::size_t at) {
    if (index >= limits_.max_memo) return fail(errc::format, "memo index " + std::to_string(index) + " too large", at);
    ALBERTNER_TRY(PickleId id, top(at));
    if (index >= memo_.size()) memo_.resize(static_cast<std::size_t>(index) + 1, kUnset);
    if (memo_[index] == kUnset) ++memo_count_;
    memo_[index] = id;
    return ok_status();
  }

  Status memo_get(std::uint64_t index, std::size_t at) {
    if (index >= memo_.size() || memo_[index] == kUnset)
      return fail(errc::format, "memo index " + std::to_string(index) + " was never stored", at);
    return push(memo_[index], at);
  }

  Status push_global(const std::string& module, const std::string& name, std::size_t at) {
    PickleGlobal g = find_allowed_global(module, name);
    if (g == PickleGlobal::none)
      return fail(errc::security, "global '" + module + "." + name + "' is not in the allow-list", at);
    ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::global, at));
    graph_.nodes[id].global = g;
    graph_.nodes[id].text = module + "." + name;
    return ok_status();
  }

  // Nothing is called: OrderedDict() becomes an empty dict, torch.Size(t) becomes t, and the
  // rebuild functions become call nodes for the caller to check and interpret.
  Status reduce(std::size_t at) {
    ALBERTNER_TRY(PickleId args, pop(at));
    ALBERTNER_TRY(PickleId callable, pop(at));
    const PickleNode& f = graph_.nodes[callable];
    const PickleNode& a = graph_.nodes[args];
    if (f.type != PickleNode::kind::global)
      return fail(errc::format, std::string("REDUCE on a ") + pickle_kind_name(f.type), at);
    if (a.type != PickleNode::kind::tuple) return fail(errc::format, "REDUCE arguments are not a tuple", at);
    switch (f.global) {
    case PickleGlobal::ordered_dict:
      if (!a.items.empty()) return fail(errc::unsupported, "collections.OrderedDict called with arguments", at);
      ALBERTNER_CHECK(push_new(PickleNode::kind::dict, at));
      return ok_status();
    case PickleGlobal::torch_size:
      if (a.items.size() != 1 || graph_.nodes[a.items[0]].type != PickleNode::kind::tuple)
        return fail(errc::format, "torch.Size expects one tuple", at);
      return push(a.items[0], at);
    case PickleGlobal::rebuild_tensor_v2:
    case PickleGlobal::rebuild_parameter: {
      std::string text = f.text;
      PickleGlobal g = f.global;
      ALBERTNER_TRY(PickleId id, push_new(PickleNode::kind::call, at));
      graph_.nodes[id].global = g;
      graph_.nodes[id].text = std::move(text);
      graph_.nodes[id].items.push_back(args);
      return ok_status();
    }
    default: return fail(errc::unsupported, "REDUCE on " + f.text, at);
    }
  }

  static constexpr PickleId kUnset = ~PickleId(0);

  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
  const std::string& name_;
  PickleLimits limits_;
  PickleGraph graph_;
  std::vector<PickleId> stack_;
  std::vector<std::size_t> marks_;
  std::vector<PickleId> memo_;
  std::uint64_t memo_count_ = 0;
};

} // namespace pickle_detail

/// Runs the restricted unpickler over `data`. Errors: errc::security for a GLOBAL outside the
/// allow-list (raised at that opcode, before anything else is read), errc::format for unknown
/// opcodes or malformed input (with the byte offset), errc::unsupported for valid pickles this
/// reader does not handle.
inline Result<PickleGraph> unpickle(const std::uint8_t* data, std::size_t size, const std::string& display_name,
                                    const PickleLimits& limits = PickleLimits()) {
  return pickle_detail::Machine(data, size, display_name, limits).run();
}

} // namespace detail
} // namespace albertner
