import Foundation

/// The optimisers selectable from the CLI (`--optimizer adam`).
public enum OptimizerKind: String, Codable, CaseIterable, Sendable {
  /// Adam (Kingma & Ba 2015) with bias correction and the paper's β1, β2 and ε.
  case adam
  /// Nadam (Dozat 2016): Adam with Nesterov momentum and Dozat's warming momentum schedule,
  /// as Keras and PyTorch implement it; the optimiser Reimers & Gurevych (2017) found best
  /// across sequence-labelling tasks.
  case nadam
  /// Plain stochastic gradient descent, θ ← θ − η·g, without momentum.
  case sgd

  /// The usual initial learning rate η₀ of each optimiser.
  public var defaultLearningRate: Double {
    switch self {
    case .adam: 0.001
    case .nadam: 0.002  // Dozat's and Keras's default
    case .sgd: 0.1
    }
  }

  /// The per-parameter slabs the optimiser's state keeps (`OptimizerState.slabs`): Adam's and
  /// Nadam's two moments. `TrainingState` asks for their memory before they are made.
  var slabCount: Int {
    switch self {
    case .adam, .nadam: 2
    case .sgd: 0
    }
  }

  /// A new optimiser of this kind for `parameterCount` parameters; the only place a kind is
  /// mapped to a type.
  func makeOptimizer(parameterCount: Int) -> any Optimizer {
    switch self {
    case .adam: Adam(parameterCount: parameterCount, nesterov: false)
    case .nadam: Adam(parameterCount: parameterCount, nesterov: true)
    case .sgd: SGD()
    }
  }
}

/// What a checkpoint keeps of an optimiser: counters (in its JSON header) and per-parameter
/// slabs (as Float32 arrays, each `parameterCount` long).
struct OptimizerState: Equatable {
  var counters: [Int] = []
  var slabs: [[Float]] = []
}

/// Moves the parameter slab along its gradient slab: one loop over all parameters (llm.c's
/// `gpt2_update`), so every layer is optimised the same way without knowing about layers.
protocol Optimizer {
  /// One update with learning rate `rate` of the parameters in `ranges` (ascending,
  /// disjoint), along `store.gradients` times `gradientScale` (clipping's factor, 1
  /// unclipped), each a rounded Float product; it leaves those gradients zero, ready for the
  /// next batch's backward passes to add to. Scaling and zeroing in the update's own pass
  /// spares two passes over the gradients, each a call on the thread pair (the clipping pass
  /// alone took 1.0–1.3% of each thread's samples in a profile of ATIS epochs at the AVX2
  /// level, `Eval/SPEED.md` "Session 33").
  /// Outside `ranges` the gradient and every per-parameter state must be zero, where the
  /// update would leave all as it is (`TrainingRun.updatedRanges`).
  mutating func step(
    _ store: ParameterStore, rate: Float, gradientScale: Float, ranges: [Range<Int>])
  /// The state a resumed run needs to make the same updates; settable from a checkpoint of
  /// the same optimiser and parameter count.
  var state: OptimizerState { get set }
  /// The parameters to evaluate and save instead of the current ones (averaging), if any.
  var evaluationParameters: [Float]? { get }
}

extension Optimizer {
  var evaluationParameters: [Float]? { nil }

  /// One unscaled update of every parameter.
  mutating func step(_ store: ParameterStore, rate: Float) {
    step(store, rate: rate, gradientScale: 1, ranges: [0..<store.count])
  }
}

/// Plain stochastic gradient descent: θ ← θ − η·g. Stateless.
struct SGD: Optimizer {
  var state: OptimizerState {
    get { OptimizerState() }
    set {}
  }

  mutating func step(
    _ store: ParameterStore, rate: Float, gradientScale: Float, ranges: [Range<Int>]
  ) {
    let θ = store.values
    let g = store.gradients
    for range in ranges {
      for k in range {
        θ[k] -= rate * (g[k] * gradientScale)
        g[k] = 0
      }
    }
    store.didChangeValues()
  }
}

/// Adam (Kingma & Ba 2015) with bias correction, in the paper's efficient order (its section
/// 2, last paragraph):
///   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,  θ ← θ − η·m̂ / (√v̂ + ε̂)
/// with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t) and ε̂ = ε / √(1 − β2^t): the step is
/// η·√(1 − β2^t)/(1 − β1^t) · m / (√v + ε). Algorithm 1's ε (PyTorch's) is added to √v̂
/// instead, which differs only where √v̂ is near ε; with `nesterov`, Nadam (Dozat 2016,
/// Algorithm 2, as Keras and PyTorch implement it) looks one momentum step ahead with a
/// momentum μ_t = β1·(1 − ½·0.96^(t·ψ)), ψ = 0.004, that warms up from about β1/2:
///   m̂ = μ_{t+1}·m / (1 − Π_{i≤t+1} μ_i) + (1 − μ_t)·g / (1 − Π_{i≤t} μ_i).
struct Adam: Optimizer {
  let beta1: Float = 0.9
  let beta2: Float = 0.999
  let epsilon: Float = 1e-8
  /// Nadam's ψ, Keras's `schedule_decay` and PyTorch's `momentum_decay`.
  static let momentumDecay = 0.004
  let nesterov: Bool
  var stepCount = 0
  /// First and second moment estimates, one per parameter.
  var m: [Float]
  var v: [Float]
  /// Nadam's Π_{i≤steps} μ_i, multiplied in step order; not in the checkpoint, which holds
  /// `stepCount`: a resumed run multiplies it out again, in the same order, to the same bits.
  private var momentumProduct = (steps: 0, value: 1.0)

  init(parameterCount: Int, nesterov: Bool) {
    self.nesterov = nesterov
    m = [Float](repeating: 0, count: parameterCount)
    v = [Float](repeating: 0, count: parameterCount)
  }

  var state: OptimizerState {
    get { OptimizerState(counters: [stepCount], slabs: [m, v]) }
    set {
      (stepCount, m, v) = (newValue.counters[0], newValue.slabs[0], newValue.slabs[1])
      momentumProduct = (0, 1)
    }
  }

  /// Where g, m and v are 0, m and v stay 0 and θ loses η·0/(0 + ε) = 0: so the parameters
  /// outside `ranges` are skipped with the same bits (with a pretrained vocabulary, most of
  /// the embedding: words no training sentence holds).
  mutating func step(
    _ store: ParameterStore, rate: Float, gradientScale: Float, ranges: [Range<Int>]
  ) {
    stepCount += 1
    let t = Double(stepCount)
    let correction1 = 1 - Foundation.pow(Double(beta1), t)
    let correction2 = 1 - Foundation.pow(Double(beta2), t)
    let θ = store.values
    let g = store.gradients
    let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
    // (√v̂ + ε) with v̂'s correction moved into the step size, for Adam and Nadam alike.
    let stepSize = Double(rate) * correction2.squareRoot()
    let nesterov = self.nesterov
    let (momentum, current) = nesterov ? nadamCoefficients() : (0, 0)
    m.withUnsafeMutableBufferPointer { m in
      v.withUnsafeMutableBufferPointer { v in
        // Each parameter's update reads only its own entries, so the parts give the bits of
        // one pass.
        store.inParts(of: ranges) { range in
          let first = range.lowerBound
          let (θ, g, m, v) = (θ + first, g + first, m.baseAddress! + first, v.baseAddress! + first)
          if nesterov {
            kernels.nadam(
              θ, g, m, v, range.count, beta1, beta2, epsilon, Float(stepSize), gradientScale,
              momentum, current)
          } else {
            kernels.adam(
              θ, g, m, v, range.count, beta1, beta2, epsilon, Float(stepSize / correction1),
              gradientScale)
          }
        }
      }
    }
    store.didChangeValues()
  }

  /// μ_t of step t (counting from 1).
  private func momentum(step t: Int) -> Double {
    Double(beta1) * (1 - 0.5 * Foundation.pow(0.96, Double(t) * Self.momentumDecay))
  }

  /// Nadam's factors of m and of g in m̂ at step `stepCount`: μ_{t+1} / (1 − Π_{i≤t+1} μ_i)
  /// and (1 − μ_t) / (1 − Π_{i≤t} μ_i).
  private mutating func nadamCoefficients() -> (momentum: Float, current: Float) {
    while momentumProduct.steps < stepCount {
      momentumProduct.steps += 1
      momentumProduct.value *= momentum(step: momentumProduct.steps)
    }
    let (now, next) = (momentum(step: stepCount), momentum(step: stepCount + 1))
    let product = momentumProduct.value
    return (Float(next / (1 - product * next)), Float((1 - now) / (1 - product)))
  }
}

/// Any optimiser plus the running mean of the parameters over all its updates (Collins 2002's
/// averaged perceptron, for any head): after update n, avg ← avg + (θ − avg) / n. The average
/// is what evaluation reads and the saved model holds.
struct ParameterAveraging: Optimizer {
  var base: any Optimizer
  var average: [Float]
  var updates = 0

  init(_ base: any Optimizer, initial: [Float]) {
    self.base = base
    average = initial
  }

  var state: OptimizerState {
    get {
      let inner = base.state
      return OptimizerState(counters: inner.counters + [updates], slabs: inner.slabs + [average])
    }
    set {
      base.state = OptimizerState(
        counters: newValue.counters.dropLast(), slabs: newValue.slabs.dropLast())
      (updates, average) = (newValue.counters.last!, newValue.slabs.last!)
    }
  }

  var evaluationParameters: [Float]? { average }

  /// The average's own update runs over every parameter, in halves on the thread pair (each
  /// element its own: the bits of one pass; on the calling thread alone it took 1.1–1.6% of
  /// its samples in profiles of averaged ATIS trainings, the other waiting; `Eval/SPEED.md`
  /// "Session 33").
  /// (`TrainingRun.updatedRanges` leaves out only rows whose average, their initial θ, is
  /// zero, and θ stays so: avg += 0.)
  mutating func step(
    _ store: ParameterStore, rate: Float, gradientScale: Float, ranges: [Range<Int>]
  ) {
    base.step(store, rate: rate, gradientScale: gradientScale, ranges: ranges)
    updates += 1
    let n = Float(updates)
    let θ = store.values
    average.withUnsafeMutableBufferPointer { avg in
      let avg = avg.baseAddress!
      store.inParts { range in
        for k in range { avg[k] += (θ[k] - avg[k]) / n }
      }
    }
  }
}
