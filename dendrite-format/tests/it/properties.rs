//! Property tests: `format_text_inputs` always yields one int64 `[B, S]` per endpoint, and says
//! what is wrong with every malformed input (endpoints themselves: dendrite-wire's tests).

use dendrite_format::{
    format_text_inputs, Endpoint, EndpointError, Endpoints, FormatError, Inputs,
};
use dendrite_wire::{DType, Tensor};
use proptest::prelude::*;

proptest! {
    #[test]
    fn formatted_inputs_are_one_int64_batch_per_endpoint(
        n in 1usize..6,
        b in 1usize..4,
        s in 1usize..9,
        per_endpoint in any::<bool>(),
        as_float in any::<bool>(),
    ) {
        let endpoints: Vec<Endpoint> = (0..n).map(|_| Endpoint::dummy()).collect();
        let count = if per_endpoint { n * b * s } else { b * s };
        let ids: Vec<i64> = (0..count as i64).collect();
        let shape = if per_endpoint { vec![n, b, s] } else { vec![b, s] };
        let mut tensor = Tensor::from_vec(ids, shape).unwrap();
        if as_float {
            tensor = tensor.cast(DType::Float32);
        }
        let (out_endpoints, inputs) =
            format_text_inputs(Endpoints::List(endpoints), Inputs::Tensor(tensor)).unwrap();
        prop_assert_eq!(out_endpoints.len(), n);
        prop_assert_eq!(inputs.len(), n);
        for (i, input) in inputs.iter().enumerate() {
            prop_assert_eq!(input.dtype(), DType::Int64);
            prop_assert_eq!(input.shape(), &[b, s]);
            let first = input.as_slice::<i64>().unwrap()[0];
            prop_assert_eq!(first, if per_endpoint { (i * b * s) as i64 } else { 0 });
        }
    }

    #[test]
    fn formatted_texts_share_one_padded_batch(texts in proptest::collection::vec("[a-z ]{1,20}", 1..5), n in 1usize..4) {
        prop_assume!(texts.iter().all(|t| !t.is_empty()));
        let endpoints: Vec<Endpoint> = (0..n).map(|_| Endpoint::dummy()).collect();
        let (_, inputs) = format_text_inputs(Endpoints::List(endpoints), Inputs::Texts(texts.clone())).unwrap();
        prop_assert_eq!(inputs.len(), n);
        for input in &inputs {
            prop_assert_eq!(input.shape()[0], texts.len());
            prop_assert_eq!(input, &inputs[0]);
        }
    }
}

#[test]
fn user_mistakes_are_typed_errors() {
    let one = || Endpoints::One(Endpoint::dummy());
    let two = || Endpoints::List(vec![Endpoint::dummy(), Endpoint::dummy()]);
    assert_eq!(
        format_text_inputs(Endpoints::List(vec![]), "hi").unwrap_err(),
        FormatError::NoEndpoints
    );
    assert_eq!(
        format_text_inputs(one(), Inputs::Texts(vec![])).unwrap_err(),
        FormatError::NoInputs
    );
    assert_eq!(
        format_text_inputs(one(), "").unwrap_err(),
        FormatError::EmptyInput(vec![1, 0])
    );
    let three_d = Tensor::from_vec(vec![1i64; 12], [3, 2, 2]).unwrap();
    assert_eq!(
        format_text_inputs(two(), three_d).unwrap_err(),
        FormatError::CountMismatch {
            endpoints: 2,
            inputs: 3
        }
    );
    let list = Inputs::Tensors(vec![Tensor::from_vec(vec![1i64, 2], [1, 2]).unwrap()]);
    assert_eq!(
        format_text_inputs(two(), list).unwrap_err(),
        FormatError::CountMismatch {
            endpoints: 2,
            inputs: 1
        }
    );
    let four_d = Tensor::from_vec(vec![1i64; 16], [2, 2, 2, 2]).unwrap();
    assert_eq!(
        format_text_inputs(one(), four_d).unwrap_err(),
        FormatError::InputRank(vec![2, 2, 2, 2])
    );
    let bad_endpoints = Tensor::from_vec(vec![1i64; 10], [10]).unwrap();
    assert_eq!(
        format_text_inputs(Endpoints::Tensor(bad_endpoints), "hi").unwrap_err(),
        FormatError::Endpoint(EndpointError::TensorShape(vec![10]))
    );
    // A 1-D input is one sequence.
    let (_, inputs) =
        format_text_inputs(one(), Tensor::from_vec(vec![5i32, 6, 7], [3]).unwrap()).unwrap();
    assert_eq!(inputs[0].shape(), &[1, 3]);
    assert_eq!(inputs[0].as_slice::<i64>().unwrap(), &[5, 6, 7]);
}
