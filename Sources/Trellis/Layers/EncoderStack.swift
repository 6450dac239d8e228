/// `layers.count` recurrent encoders, each reading the output `(T·B, dirs·H)` of the one below
/// it; the first reads the token representations `(T·B, In)`. Reimers & Gurevych (2017) found
/// two stacked BiLSTM layers a robust choice across sequence-labelling tasks. Layer 1's
/// parameters keep the names of a one-layer model (`forward.*`, `backward.*`); layer l > 1's
/// are `layerl.forward.*` and `layerl.backward.*`.
struct EncoderStack: Sendable {
  let layers: [Encoder]

  var outputSize: Int { layers[layers.count - 1].outputSize }

  init(kind: EncoderKind, inputSize: Int, hiddenSize: Int, layers count: Int, store: ParameterStore)
  {
    var layers: [Encoder] = []
    for l in 0..<count {
      layers.append(
        Encoder(
          kind: kind, inputSize: l == 0 ? inputSize : layers[l - 1].outputSize,
          hiddenSize: hiddenSize, namePrefix: l == 0 ? "" : "layer\(l + 1).", store: store))
    }
    self.layers = layers
  }

  func initialize(_ store: ParameterStore, rng: inout SplitMix64) {
    for layer in layers { layer.initialize(store, rng: &rng) }
  }
}
