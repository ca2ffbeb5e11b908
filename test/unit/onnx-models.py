"""Exports the ONNX models that test/unit/onnx-read.test.ts reads, and writes what the `onnx` package says about each
one to reference.json, so the TypeScript reader is compared with the reference implementation, field by field.

Usage: python onnx-models.py OUT_DIR
"""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper


def export_torch(model: torch.nn.Module, example: torch.Tensor, path: Path, **kwargs) -> None:
    model.eval()
    torch.onnx.export(model, (example,), str(path), dynamo=False, input_names=["input"], output_names=["logits"], **kwargs)


def mlp(out: Path) -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    export_torch(net, torch.zeros(1, 64), out / "mlp.onnx", dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    # The same net with weights also declared as graph inputs (overridable defaults).
    export_torch(net, torch.zeros(1, 64), out / "mlp-inputs.onnx", keep_initializers_as_inputs=True)


def cnn(out: Path) -> None:
    torch.manual_seed(1)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(8 * 14 * 14, 16),
        torch.nn.BatchNorm1d(16),
        torch.nn.ReLU(),
        torch.nn.Linear(16, 10),
        torch.nn.Softmax(dim=1),
    )
    # training=TRAINING keeps BatchNorm nodes (eval mode would fold them into the convolution).
    export_torch(net, torch.zeros(2, 1, 28, 28), out / "cnn-bn.onnx", training=torch.onnx.TrainingMode.TRAINING,
                 do_constant_folding=False)


def with_metadata(out: Path) -> None:
    model = onnx.load(str(out / "mlp.onnx"))
    labels = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    onnx.helper.set_model_props(model, {"labels": json.dumps(labels), "author": "Descent tests \u2014 ünïcode"})
    model.doc_string = "An MLP for 8x8 digits."
    model.model_version = 7
    model.domain = "dev.descent.tests"
    onnx.save(model, str(out / "mlp-metadata.onnx"))


def handmade(out: Path) -> None:
    """float_data and int64_data initializers, an If with two subgraphs, a Loop, symbolic and unknown dims,
    a custom domain, a sequence output."""
    w = helper.make_tensor("W", TensorProto.FLOAT, [3, 2], [0.5, -1.0, 2.0, 3.25, -0.125, 8.0])  # float_data
    shape = helper.make_tensor("shape", TensorProto.INT64, [2], [-1, 6])  # int64_data, negative value
    b = numpy_helper.from_array(np.arange(2, dtype=np.float64), "B")  # raw_data, float64
    h = numpy_helper.from_array(np.array([1.5, -2.0, 65504.0], dtype=np.float16), "H")
    cond = helper.make_tensor("cond", TensorProto.BOOL, [], [True])
    then_g = helper.make_graph(
        [helper.make_node("Relu", ["y0"], ["t"]), helper.make_node("Relu", ["t"], ["t2"])],
        "then", [], [helper.make_tensor_value_info("t2", TensorProto.FLOAT, None)])
    else_g = helper.make_graph(
        [helper.make_node("Neg", ["y0"], ["e"])], "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    body = helper.make_graph(
        [helper.make_node("Identity", ["c_in"], ["c_out"]), helper.make_node("Add", ["v_in", "v_in"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    trip = helper.make_tensor("trip", TensorProto.INT64, [], [3])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["y0"], name="matmul"),
        helper.make_node("If", ["cond"], ["y1"], then_branch=then_g, else_branch=else_g, name="branch"),
        helper.make_node("Loop", ["trip", "cond", "y1"], ["y2"], body=body),
        helper.make_node("Add", ["y2", "B"], ["y"]),
        helper.make_node("CustomOp", ["y"], ["z"], domain="com.example"),
        helper.make_node("SequenceConstruct", ["y", "y"], ["seq"]),
    ]
    graph = helper.make_graph(
        nodes, "handmade",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3]),
         helper.make_tensor_value_info("unknown", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2]),
         helper.make_tensor_value_info("z", TensorProto.FLOAT, None),
         helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, None)],
        initializer=[w, shape, b, h, cond, trip])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
                              producer_name="handmade", producer_version="1.0")
    onnx.save(model, str(out / "handmade.onnx"))


def external(out: Path) -> None:
    model = onnx.load(str(out / "mlp.onnx"))
    onnx.save(model, str(out / "mlp-external.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
              location="mlp-external.data", size_threshold=256)


def dim(d) -> object:
    if d.HasField("dim_value"):
        return d.dim_value
    if d.HasField("dim_param"):
        return d.dim_param
    return None


def value_info(v) -> dict:
    t = v.type
    kind = t.WhichOneof("value")
    if kind == "tensor_type":
        tt = t.tensor_type
        shape = [dim(d) for d in tt.shape.dim] if tt.HasField("shape") else None
        return {"name": v.name, "elemTypeCode": tt.elem_type, "shape": shape}
    return {"name": v.name, "elemTypeCode": 0, "shape": None, "kind": kind}


def storage(t) -> str:
    if t.data_location == TensorProto.EXTERNAL:
        return "external"
    for field in ("raw_data", "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"):
        if len(getattr(t, field)) > 0:
            return field
    return "empty"


def graph_view(g) -> dict:
    inits = {t.name for t in g.initializer}
    nodes = []
    for n in g.node:
        subgraphs = []
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                subgraphs.append(graph_view(a.g))
            elif a.type == onnx.AttributeProto.GRAPHS:
                subgraphs.extend(graph_view(s) for s in a.graphs)
        nodes.append({"opType": n.op_type, "domain": n.domain, "name": n.name, "inputs": list(n.input),
                      "outputs": list(n.output), "subgraphs": subgraphs})
    initializers = []
    for t in g.initializer:
        item = {"name": t.name, "dataTypeCode": t.data_type, "dims": list(t.dims), "storage": storage(t),
                "external": t.data_location == TensorProto.EXTERNAL}
        if item["storage"] == "raw_data":
            item["sha256"] = hashlib.sha256(t.raw_data).hexdigest()
        if not item["external"] and t.data_type in (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16):
            item["values"] = [float(x) for x in numpy_helper.to_array(t).astype(np.float32).ravel()[:50]]
        initializers.append(item)
    return {
        "name": g.name,
        "inputs": [value_info(v) for v in g.input if v.name not in inits],
        "initializerInputs": [v.name for v in g.input if v.name in inits],
        "outputs": [value_info(v) for v in g.output],
        "initializers": initializers,
        "nodes": nodes,
    }


def histogram(g, counts: dict) -> dict:
    for n in g.node:
        key = f"{n.domain}:{n.op_type}"
        counts[key] = counts.get(key, 0) + 1
        for a in n.attribute:
            if a.type == onnx.AttributeProto.GRAPH:
                histogram(a.g, counts)
            elif a.type == onnx.AttributeProto.GRAPHS:
                for s in a.graphs:
                    histogram(s, counts)
    return counts


def model_view(path: Path) -> dict:
    m = onnx.load(str(path), load_external_data=False)
    return {
        "irVersion": m.ir_version,
        "opsetImports": [{"domain": o.domain, "version": o.version} for o in m.opset_import],
        "producerName": m.producer_name,
        "producerVersion": m.producer_version,
        "domain": m.domain,
        "modelVersion": m.model_version,
        "docString": m.doc_string,
        "metadataProps": {p.key: p.value for p in m.metadata_props},
        "graph": graph_view(m.graph),
        "parameterCount": int(sum(int(np.prod(t.dims)) for t in m.graph.initializer)),
        "histogram": histogram(m.graph, {}),
    }


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    mlp(out)
    cnn(out)
    with_metadata(out)
    handmade(out)
    external(out)
    names = ["mlp", "mlp-inputs", "cnn-bn", "mlp-metadata", "handmade", "mlp-external"]
    reference = {n: model_view(out / f"{n}.onnx") for n in names}
    (out / "reference.json").write_text(json.dumps(reference, indent=1))


if __name__ == "__main__":
    main()
