import Foundation

/// The optimisers selectable from the CLI (`--optimizer adam`).
public enum OptimizerKind: String, Codable, CaseIterable, Sendable { case adam, sgd }

/// Moves the parameter slab along its gradient slab: one loop over all parameters (llm.c's
/// `gpt2_update`), so every layer is optimised the same way without knowing about layers.
protocol Optimizer {
  /// One update with learning rate `rate`, reading `store.gradients`.
  mutating func step(_ store: ParameterStore, rate: Float)
}

/// Plain stochastic gradient descent: θ ← θ − η·g.
struct SGD: Optimizer {
  mutating func step(_ store: ParameterStore, rate: Float) {
    let θ = store.values, g = store.gradients
    for k in 0..<store.count { θ[k] -= rate * g[k] }
    store.didChangeValues()
  }
}

/// Adam (Kingma & Ba 2015) with bias correction:
///   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,  θ ← θ − η·m̂ / (√v̂ + ε)
/// with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
struct Adam: Optimizer {
  var beta1: Float = 0.9
  var beta2: Float = 0.999
  var epsilon: Float = 1e-8
  var stepCount = 0
  /// First and second moment estimates, one per parameter (checkpointed).
  var m: [Float]
  var v: [Float]

  init(parameterCount: Int) {
    m = [Float](repeating: 0, count: parameterCount)
    v = [Float](repeating: 0, count: parameterCount)
  }

  mutating func step(_ store: ParameterStore, rate: Float) {
    stepCount += 1
    let correction1 = 1 - Foundation.pow(Double(beta1), Double(stepCount))
    let correction2 = 1 - Foundation.pow(Double(beta2), Double(stepCount))
    let stepSize = Float(Double(rate) * correction2.squareRoot() / correction1)
    let θ = store.values, g = store.gradients
    let (beta1, beta2, epsilon) = (self.beta1, self.beta2, self.epsilon)
    m.withUnsafeMutableBufferPointer { m in
      v.withUnsafeMutableBufferPointer { v in
        let m = m.baseAddress!, v = v.baseAddress!
        // 16 lanes at a time: the compiler cannot prove the four buffers disjoint, so the
        // scalar loop would not vectorise; the tail runs the same formulas one lane at a time.
        var k = 0
        while k + 16 <= store.count {
          let gradient = UnsafeRawPointer(g + k).loadUnaligned(as: Lanes.self)
          let first = beta1 * UnsafeRawPointer(m + k).loadUnaligned(as: Lanes.self) + (1 - beta1) * gradient
          let second = beta2 * UnsafeRawPointer(v + k).loadUnaligned(as: Lanes.self) + (1 - beta2) * gradient * gradient
          let value = UnsafeRawPointer(θ + k).loadUnaligned(as: Lanes.self) - stepSize * first / (second.squareRoot() + epsilon)
          UnsafeMutableRawPointer(m + k).storeBytes(of: first, as: Lanes.self)
          UnsafeMutableRawPointer(v + k).storeBytes(of: second, as: Lanes.self)
          UnsafeMutableRawPointer(θ + k).storeBytes(of: value, as: Lanes.self)
          k += 16
        }
        for k in k..<store.count {
          m[k] = beta1 * m[k] + (1 - beta1) * g[k]
          v[k] = beta2 * v[k] + (1 - beta2) * g[k] * g[k]
          θ[k] -= stepSize * m[k] / (v[k].squareRoot() + epsilon)
        }
      }
    }
    store.didChangeValues()
  }
}
