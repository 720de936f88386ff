// fold-views: moves and merges the views (reshape, permute) around linears, slices and each other
// so that permutes meet and cancel, leaving at most one permute copy per chain of views. Every
// device; repeated to a fixed point:
//   linear(reshape(x)) where the reshape keeps x's last dim (it only regroups rows), x of rank
//   >= 2  ->  reshape(linear(x));
//   linear(permute(x, p)) where p keeps the last axis last, and the linear is no wider than its
//   input or has an output that only reshapes, permutes and slices read
//       ->  permute(linear(x), p)
//   (the permute then meets the views after the linear; the conditions keep a permute that stays
//   from getting larger);
//   slice(permute(x, p)) on axis a, every reader of the permute a slice
//       ->  permute(slice(x) on axis p[a], p)   (slice first: the permute copies less);
//   a chain of reshapes and permutes from s to t with a permute in it
//       ->  reshape(permute(reshape(s))) with at most one permute (none where the chain keeps the
//           order of s's elements), the reshapes only where needed, when that has fewer permutes
//           than the chain, or as many in fewer nodes.
// The chain rule views every dim as a product of atoms: s's dims, split where a later reshape
// splits them (a reshape whose dim would cut an atom unevenly, or split a symbolic dim, stops
// the rule). Atoms adjacent and
// in order in both s and t travel as one dim. nn.MultiheadAttention (torchvision's ViT) needs all
// four: its q, k and v each pass three permutes on the way from the in-projection to attention,
// and its output two more on the way to the out-projection.
// Rewritten nodes keep their output values; replaced nodes stay, unused, for dce. New nodes go
// right before (a rewritten chain) or right after (a moved linear) the node they come from.
#include <algorithm>
#include <optional>
#include <vector>

#include "kiln/passes/passes.h"
#include "rewrite_util.h"

namespace kiln {
namespace {

using passes_internal::add_value;
using passes_internal::live_nodes;
using passes_internal::is_identity_perm;
using passes_internal::live_use_counts;
using passes_internal::normalized_perm;
using passes_internal::permuted;

bool is_view(OpKind op) { return op == OpKind::kReshape || op == OpKind::kPermute; }

// The constant c with t == prod * c (t = 4*batch, prod = batch: 4), if there is one.
std::optional<int64_t> constant_ratio(const DimExpr& t, const DimExpr& prod) {
  if (t.terms().size() != 1 || prod.terms().size() != 1) return std::nullopt;
  const int64_t tc = t.terms()[0].coeff, pc = prod.terms()[0].coeff;
  if (pc == 0 || tc % pc != 0 || tc / pc <= 0 || !(prod * DimExpr(tc / pc) == t)) {
    return std::nullopt;
  }
  return tc / pc;
}

// A chain of views from a source value, as a permutation of the source's atoms. An atom is a
// static size or a symbolic dim; symbolic atoms are never split, and a symbolic dim of a reshape
// must be a product of whole atoms.
class AtomLayout {
 public:
  // Static sizes must be positive (a chain over an empty tensor moves nothing).
  explicit AtomLayout(const Shape& source) {
    for (const DimExpr& d : source) {
      dims_.emplace_back();
      if (d != DimExpr(1)) dims_.back().push_back(new_atom(d, source_order_.size()));
    }
  }

  void permute(const std::vector<int64_t>& perm) {
    std::vector<std::vector<int>> out;
    for (int64_t p : perm) out.push_back(dims_[static_cast<size_t>(p)]);
    dims_ = std::move(out);
  }

  // False if a new dim would cut an atom into pieces that do not divide it, split a symbolic
  // atom, or take a symbolic atom into a dim that does not have it as a factor.
  bool reshape(const Shape& shape) {
    std::vector<int> flat = flat_order();
    std::vector<std::vector<int>> out;
    size_t pos = 0;
    for (const DimExpr& t : shape) {
      out.emplace_back();
      DimExpr prod(1);
      while (prod != t) {
        if (pos >= flat.size()) return false;
        const int a = flat[pos];
        const DimExpr& s = size_[static_cast<size_t>(a)];
        // The constant factor t still needs, if no symbolic one is to come.
        const std::optional<int64_t> rest = constant_ratio(t, prod);
        if (!rest && t.is_constant()) return false;
        if (rest && (!s.is_constant() || *rest % s.constant_value() != 0)) {
          const int64_t sv = s.is_constant() ? s.constant_value() : 0;
          if (sv == 0 || sv % *rest != 0) return false;
          // Split atom a into (rest, s / rest), in place in the source and in the flat order.
          const size_t at = static_cast<size_t>(
              std::find(source_order_.begin(), source_order_.end(), a) - source_order_.begin());
          source_order_.erase(source_order_.begin() + static_cast<std::ptrdiff_t>(at));
          const int inner_atom = new_atom(sv / *rest, at);
          const int outer_atom = new_atom(*rest, at);
          flat[pos] = inner_atom;
          flat.insert(flat.begin() + static_cast<std::ptrdiff_t>(pos), outer_atom);
          continue;
        }
        out.back().push_back(a);  // the whole atom
        prod = prod * s;
        ++pos;
      }
    }
    if (pos != flat.size()) return false;
    dims_ = std::move(out);
    return true;
  }

  // The chain as reshape(source, first) -> permute(perm) -> reshape(final): atoms that are
  // adjacent and in the same order in the source and in the result form one dim of `first`. When
  // every dim of the result is one such block or a unit dim, `first` ends with one unit dim per
  // unit dim of the result and the permute gives the result's shape itself (no reshape after it).
  void normal_form(Shape* first, std::vector<int64_t>* perm) const {
    const std::vector<int> flat = flat_order();
    std::vector<size_t> rank_in_result(size_.size());
    for (size_t i = 0; i < flat.size(); ++i) rank_in_result[static_cast<size_t>(flat[i])] = i;
    // Blocks: runs of source atoms that are consecutive in the result too.
    std::vector<std::vector<int>> blocks;
    std::vector<size_t> block_of(size_.size());
    for (size_t i = 0; i < source_order_.size(); ++i) {
      const int a = source_order_[i];
      if (i == 0 || rank_in_result[static_cast<size_t>(a)] !=
                        rank_in_result[static_cast<size_t>(source_order_[i - 1])] + 1) {
        blocks.emplace_back();
      }
      blocks.back().push_back(a);
      block_of[static_cast<size_t>(a)] = blocks.size() - 1;
    }
    first->clear();
    for (const auto& b : blocks) {
      DimExpr n(1);
      for (int a : b) n = n * size_[static_cast<size_t>(a)];
      first->push_back(n);
    }
    // The result's dims as blocks (or unit dims), if each is exactly one block or none. A unit dim
    // goes into `first` before the earliest (in the source) block that follows it in the result,
    // so that a permute of the sizes that are not 1 keeps its usual form ([1, L, H, E] ->
    // [1, H, L, E] is [0, 2, 1, 3]).
    std::vector<int64_t> result_block;  // per result dim: its block, or -1 for a unit dim
    for (const auto& d : dims_) {
      if (d.empty()) {
        result_block.push_back(-1);
        continue;
      }
      const size_t b = block_of[static_cast<size_t>(d[0])];
      if (blocks[b] != d) {
        result_block.clear();
        break;
      }
      result_block.push_back(static_cast<int64_t>(b));
    }
    if (result_block.size() == dims_.size() && !dims_.empty()) {
      // Where each unit dim goes: before block `key` (blocks.size(): at the end).
      std::vector<int64_t> key(dims_.size(), static_cast<int64_t>(blocks.size()));
      for (size_t i = dims_.size(); i-- > 0;) {
        const int64_t next = i + 1 < dims_.size() ? key[i + 1] : int64_t(blocks.size());
        key[i] = result_block[i] >= 0 ? std::min(next, result_block[i]) : next;
      }
      std::vector<int64_t> position(dims_.size());
      Shape sizes;
      for (size_t b = 0; b <= blocks.size(); ++b) {
        for (size_t i = 0; i < dims_.size(); ++i) {
          if (result_block[i] < 0 && key[i] == static_cast<int64_t>(b)) {
            position[i] = static_cast<int64_t>(sizes.size());
            sizes.push_back(DimExpr(1));
          }
        }
        if (b == blocks.size()) break;
        for (size_t i = 0; i < dims_.size(); ++i) {
          if (result_block[i] == static_cast<int64_t>(b)) position[i] = int64_t(sizes.size());
        }
        sizes.push_back((*first)[b]);
      }
      *first = std::move(sizes);
      *perm = std::move(position);
      return;
    }
    std::vector<size_t> order(blocks.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t x, size_t y) {
      return rank_in_result[static_cast<size_t>(blocks[x][0])] <
             rank_in_result[static_cast<size_t>(blocks[y][0])];
    });
    perm->assign(order.begin(), order.end());
  }

 private:
  // A new atom, at position `where` of the source order.
  int new_atom(DimExpr size, size_t where) {
    size_.push_back(std::move(size));
    const int id = static_cast<int>(size_.size() - 1);
    source_order_.insert(source_order_.begin() + static_cast<std::ptrdiff_t>(where), id);
    return id;
  }

  std::vector<int> flat_order() const {
    std::vector<int> flat;
    for (const auto& d : dims_) flat.insert(flat.end(), d.begin(), d.end());
    return flat;
  }

  std::vector<DimExpr> size_;       // by atom id
  std::vector<int> source_order_;   // atom ids in the source's memory order
  std::vector<std::vector<int>> dims_;  // the current dims, each its atoms in order
};

class ViewFolder {
 public:
  explicit ViewFolder(Graph& g) : g_(g) {}

  // One sweep; true if anything changed. Every rewrite adds nodes, so a sweep ends at the first
  // one (the node list is rebuilt) and producers stay exact.
  bool sweep() {
    producers_ = graph_producers(g_);
    const std::vector<bool> live = live_nodes(g_);
    uses_ = live_use_counts(g_, live);
    slice_uses_.assign(g_.values.size(), 0);
    view_uses_.assign(g_.values.size(), 0);
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      if (!live[i]) continue;
      const Node& n = g_.nodes[i];
      for (ValueId v : n.inputs) {
        if (v == kNoValue) continue;
        if (n.op == OpKind::kSlice) ++slice_uses_[v];
        if (n.op == OpKind::kSlice || is_view(n.op)) ++view_uses_[v];
      }
    }
    for (size_t i = 0; i < g_.nodes.size(); ++i) {
      Node& n = g_.nodes[i];
      if (!live[i] || n.outputs.size() != 1) continue;
      std::vector<Node> before, after;
      const bool changed = sink_reshape_into_linear(n, after) ||
                           sink_permute_into_linear(n, after) ||
                           slice_before_permute(n, before) || fold_chain(n, before);
      if (!changed) continue;
      std::vector<Node> nodes;
      nodes.reserve(g_.nodes.size() + before.size() + after.size());
      for (size_t j = 0; j < g_.nodes.size(); ++j) {
        if (j == i) {
          for (Node& b : before) nodes.push_back(std::move(b));
        }
        nodes.push_back(std::move(g_.nodes[j]));
        if (j == i) {
          for (Node& a : after) nodes.push_back(std::move(a));
        }
      }
      g_.nodes = std::move(nodes);
      return true;
    }
    return false;
  }

 private:
  // The node defining `v` if it has op `op`, else null.
  Node* def(ValueId v, OpKind op) {
    return passes_internal::producer_with_op(g_, producers_, v, op);
  }

  // n (a linear reading a view of x) reads x instead and defines a new value of `type`; `view`
  // (its attrs) of that value defines n's old output.
  void move_view_after(Node& n, ValueId x, TensorType type, Attrs view, OpKind op,
                       std::vector<Node>& after) {
    const ValueId old_out = n.outputs[0];
    n.inputs[0] = x;
    n.outputs[0] = add_value(g_, std::move(type));
    after.push_back(Node{op, {n.outputs[0]}, {old_out}, std::move(view), n.loc});
  }

  // linear(reshape(x)) keeping x's last dim -> reshape(linear(x)).
  bool sink_reshape_into_linear(Node& n, std::vector<Node>& after) {
    if (n.op != OpKind::kLinear) return false;
    Node* r = def(n.inputs[0], OpKind::kReshape);
    if (r == nullptr) return false;
    const TensorType& x = g_.type(r->inputs[0]);
    if (x.rank() < 2 || !(x.shape.back() == g_.type(n.inputs[0]).shape.back())) return false;
    TensorType direct = x;
    direct.dtype = g_.type(n.outputs[0]).dtype;
    direct.shape.back() = g_.type(n.outputs[0]).shape.back();
    const Shape old_shape = g_.type(n.outputs[0]).shape;
    move_view_after(n, r->inputs[0], std::move(direct), ReshapeAttrs{old_shape}, OpKind::kReshape,
                    after);
    return true;
  }

  // linear(permute(x, p)) with p keeping the last axis -> permute(linear(x), p).
  bool sink_permute_into_linear(Node& n, std::vector<Node>& after) {
    if (n.op != OpKind::kLinear) return false;
    Node* p = def(n.inputs[0], OpKind::kPermute);
    if (p == nullptr) return false;
    const std::vector<int64_t> perm = normalized_perm(p->attrs_as<PermuteAttrs>().perm);
    const int64_t last = static_cast<int64_t>(perm.size()) - 1;
    if (perm.empty() || perm.back() != last) return false;
    const ValueId y = n.outputs[0];
    const TensorType& in = g_.type(n.inputs[0]);
    const TensorType& out = g_.type(y);
    const bool narrower = in.shape.back().is_constant() && out.shape.back().is_constant() &&
                          out.shape.back().constant_value() <= in.shape.back().constant_value();
    // A wider linear only when views alone read it, so that the chain rule can fold the permute
    // into the views after it.
    if (!narrower && view_uses_[y] != uses_[y]) return false;
    // linear(x) has x's leading dims: the inverse permutation of out's.
    std::vector<int64_t> inverse(perm.size());
    for (size_t i = 0; i < perm.size(); ++i) inverse[static_cast<size_t>(perm[i])] = int64_t(i);
    TensorType direct = permuted(out, inverse);
    move_view_after(n, p->inputs[0], std::move(direct), PermuteAttrs{perm}, OpKind::kPermute,
                    after);
    return true;
  }

  // slice(permute(x, p)) -> permute(slice(x), p), when only slices read the permute.
  bool slice_before_permute(Node& n, std::vector<Node>& before) {
    if (n.op != OpKind::kSlice) return false;
    Node* p = def(n.inputs[0], OpKind::kPermute);
    if (p == nullptr) return false;
    const ValueId t = n.inputs[0];
    if (slice_uses_[t] != uses_[t]) return false;
    const std::vector<int64_t> perm = normalized_perm(p->attrs_as<PermuteAttrs>().perm);
    SliceAttrs sliced = n.attrs_as<SliceAttrs>();
    const int64_t rank = static_cast<int64_t>(perm.size());
    const int64_t axis = sliced.axis < 0 ? sliced.axis + rank : sliced.axis;
    if (axis < 0 || axis >= rank) return false;
    sliced.axis = perm[static_cast<size_t>(axis)];
    TensorType slice_type = g_.type(p->inputs[0]);
    slice_type.shape[static_cast<size_t>(sliced.axis)] =
        g_.type(n.outputs[0]).shape[static_cast<size_t>(axis)];
    const ValueId s = add_value(g_, std::move(slice_type));
    before.push_back(Node{OpKind::kSlice, {p->inputs[0]}, {s}, sliced, n.loc});
    n.op = OpKind::kPermute;
    n.inputs = {s};
    n.attrs = PermuteAttrs{perm};
    return true;
  }

  // A chain of reshapes and permutes ending at n -> reshape, permute, reshape.
  bool fold_chain(Node& n, std::vector<Node>& before) {
    if (!is_view(n.op)) return false;
    // Walk up to the chain's source.
    std::vector<const Node*> chain;
    int permutes = 0;
    for (const Node* c = &n; c != nullptr && is_view(c->op);) {
      chain.push_back(c);
      if (c->op == OpKind::kPermute &&
          !is_identity_perm(normalized_perm(c->attrs_as<PermuteAttrs>().perm))) {
        ++permutes;
      }
      const int32_t p = producers_[c->inputs[0]];
      c = p >= 0 ? &g_.nodes[static_cast<size_t>(p)] : nullptr;
    }
    if (permutes == 0) return false;  // reshapes alone: canonicalize composes them
    const ValueId source = chain.back()->inputs[0];
    const Shape& source_shape = g_.type(source).shape;
    for (const DimExpr& d : source_shape) {
      if (d.is_constant() && d.constant_value() <= 0) return false;
    }
    AtomLayout layout(source_shape);
    for (size_t k = chain.size(); k-- > 0;) {
      const Node& c = *chain[k];
      if (c.op == OpKind::kPermute) {
        layout.permute(normalized_perm(c.attrs_as<PermuteAttrs>().perm));
      } else if (!layout.reshape(g_.type(c.outputs[0]).shape)) {
        return false;
      }
    }
    Shape first;
    std::vector<int64_t> perm;
    layout.normal_form(&first, &perm);
    // Only fewer permutes, or as many in fewer nodes.
    const bool permute = !is_identity_perm(perm);
    const bool reshape_first = permute && first != source_shape;
    const bool reshape_last =
        !permute ||
        !(permuted(TensorType{DType::kF32, first}, perm).shape == g_.type(n.outputs[0]).shape);
    const size_t nodes = size_t{reshape_first} + size_t{permute} + size_t{reshape_last};
    if (int{permute} == permutes && nodes >= chain.size()) return false;
    // reshape(source, first) -> permute(perm) -> n's output (a reshape to its shape).
    const DType dtype = g_.type(source).dtype;
    ValueId v = source;
    if (reshape_first) {
      const ValueId r = add_value(g_, TensorType{dtype, first});
      before.push_back(Node{OpKind::kReshape, {v}, {r}, ReshapeAttrs{first}, n.loc});
      v = r;
    }
    if (permute) {
      TensorType t = permuted(g_.type(v), perm);
      if (!reshape_last) {  // n is the permute
        n.op = OpKind::kPermute;
        n.inputs = {v};
        n.attrs = PermuteAttrs{perm};
        return true;
      }
      const ValueId pv = add_value(g_, std::move(t));
      before.push_back(Node{OpKind::kPermute, {v}, {pv}, PermuteAttrs{perm}, n.loc});
      v = pv;
    }
    n.op = OpKind::kReshape;
    n.inputs = {v};
    n.attrs = ReshapeAttrs{g_.type(n.outputs[0]).shape};
    return true;
  }

  Graph& g_;
  std::vector<int32_t> producers_;
  std::vector<int32_t> uses_;
  std::vector<int32_t> slice_uses_;  // by value: how many live slices read it
  std::vector<int32_t> view_uses_;   // by value: how many live reshapes, permutes, slices read it
};

}  // namespace

Expected<bool> fold_views(Graph& g, const PassOptions& /*options*/) {
  ViewFolder folder(g);
  bool changed = false;
  // Every rewrite removes a permute from a chain or moves a view past a linear or slice, towards
  // the outputs; more sweeps than this would be a rewrite cycle, a bug here.
  const size_t max_sweeps = 4 * g.nodes.size() + 8;
  for (size_t sweep = 0; folder.sweep(); ++sweep) {
    changed = true;
    if (sweep > max_sweeps) {
      return internal_error("fold-views: no fixed point after ", max_sweeps, " sweeps");
    }
  }
  return changed;
}

}  // namespace kiln
