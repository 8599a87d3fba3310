// The dendrite as a torch autograd function: a small C++ shim around Rust callbacks.
//
// Rust runs the Forward RPCs first and hands the finished outputs in; this function only puts
// them into the graph (inputs: the DUMMY leaf and the token tensors, passed as an at::TensorList
// so that autograd records their edges; the outputs as a std::vector, which records none).
// Backward hands the output gradients to a Rust callback through a per-call state holder whose
// destructor releases the Rust state, also when backward never runs.
#include <torch/torch.h>
#include <torch/custom_class.h>

#include <cstring>
#include <exception>
#include <string>
#include <vector>

extern "C" {
// Takes ownership of every `grads[i]` (a heap at::Tensor, possibly undefined). Returns 0 on
// success, else writes a NUL-terminated message into `err`.
typedef int (*dendrite_backward_fn)(uint64_t state, at::Tensor** grads, size_t n, char* err, size_t err_len);
// Frees the Rust state.
typedef void (*dendrite_release_fn)(uint64_t state);
}

namespace {

struct StateHolder : torch::CustomClassHolder {
  uint64_t id;
  dendrite_backward_fn backward;
  dendrite_release_fn release;
  StateHolder(uint64_t id, dendrite_backward_fn backward, dendrite_release_fn release)
      : id(id), backward(backward), release(release) {}
  ~StateHolder() override { release(id); }
};

static auto registration = torch::class_<StateHolder>("dendrite", "CallState");

void copy_message(const char* what, char* err, size_t err_len) {
  if (err_len == 0) return;
  std::strncpy(err, what, err_len - 1);
  err[err_len - 1] = '\0';
}

struct DendriteFunction : public torch::autograd::Function<DendriteFunction> {
  static torch::autograd::variable_list forward(
      torch::autograd::AutogradContext* ctx,
      at::TensorList graph_inputs,
      std::vector<at::Tensor> outputs,
      std::vector<int64_t> non_differentiable,
      c10::intrusive_ptr<StateHolder> state) {
    std::vector<at::Tensor> frozen;
    for (int64_t i : non_differentiable) frozen.push_back(outputs.at(i));
    ctx->mark_non_differentiable(frozen);
    ctx->saved_data["state"] = state;
    ctx->saved_data["n_inputs"] = static_cast<int64_t>(graph_inputs.size());
    return outputs;
  }

  static torch::autograd::variable_list backward(
      torch::autograd::AutogradContext* ctx,
      torch::autograd::variable_list grad_outputs) {
    auto state = ctx->saved_data["state"].toCustomClass<StateHolder>();
    std::vector<at::Tensor*> grads;
    grads.reserve(grad_outputs.size());
    for (auto& g : grad_outputs) grads.push_back(new at::Tensor(g));
    char err[2048] = {0};
    int rc = state->backward(state->id, grads.data(), grads.size(), err, sizeof(err));
    TORCH_CHECK(rc == 0, err);
    // One (undefined) gradient per forward input: each tensor of the list, then the three
    // non-tensor arguments.
    int64_t n_inputs = ctx->saved_data["n_inputs"].toInt();
    return torch::autograd::variable_list(n_inputs + 3);
  }
};

}  // namespace

extern "C" {

// Puts `outputs` into the graph as results of `graph_inputs`. Writes `n_outputs` new heap
// tensors to `results` (the caller owns them). Returns 0, or 1 with a message in `err`; on
// failure the state is released here.
int dendrite_autograd_apply(at::Tensor** graph_inputs, size_t n_inputs, at::Tensor** outputs,
                            size_t n_outputs, const int64_t* non_differentiable, size_t n_frozen,
                            uint64_t state, dendrite_backward_fn backward,
                            dendrite_release_fn release, at::Tensor** results, char* err,
                            size_t err_len) {
  c10::intrusive_ptr<StateHolder> holder;
  try {
    holder = c10::make_intrusive<StateHolder>(state, backward, release);
  } catch (const std::exception& e) {
    release(state);
    copy_message(e.what(), err, err_len);
    return 1;
  }
  try {
    std::vector<at::Tensor> ins;
    for (size_t i = 0; i < n_inputs; ++i) ins.push_back(*graph_inputs[i]);
    std::vector<at::Tensor> outs;
    for (size_t i = 0; i < n_outputs; ++i) outs.push_back(*outputs[i]);
    std::vector<int64_t> frozen(non_differentiable, non_differentiable + n_frozen);
    auto res = DendriteFunction::apply(at::TensorList(ins), outs, frozen, holder);
    for (size_t i = 0; i < n_outputs; ++i) results[i] = new at::Tensor(res.at(i));
    return 0;
  } catch (const std::exception& e) {
    copy_message(e.what(), err, err_len);
    return 1;
  }
}

// Whether autograd records operations on this thread (false under no_grad).
int dendrite_autograd_grad_enabled() { return at::GradMode::is_enabled() ? 1 : 0; }

}  // extern "C"
