// swift-tools-version:6.1
import Foundation
import PackageDescription

/// This file's folder: the linker runs in another.
let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

/// A product of a package that only the executables and the HTTP service use, behind the
/// `Executables` trait: a package depending on Trellis with `traits: []` then resolves and
/// fetches none of those packages (SwiftPM drops dependencies that only disabled traits use).
func executablesOnly(_ product: String, from package: String) -> Target.Dependency {
  .product(name: product, package: package, condition: .when(traits: ["Executables"]))
}

let package = Package(
  name: "Trellis",
  products: [
    .library(name: "Trellis", targets: ["Trellis"]),
    .library(name: "ConllEval", targets: ["ConllEval"]),
    .executable(name: "trellis", targets: ["trellis"]),
    /// libTrellisC.so: the C ABI of Sources/TrellisC/include/trellis.h (the Python package's).
    .library(name: "TrellisC", type: .dynamic, targets: ["TrellisC"]),
    .executable(name: "trellis-serve", targets: ["trellis-serve"]),
  ],
  traits: [
    .trait(
      name: "Executables",
      description: "The trellis and trellis-serve executables and the HTTP service, with the "
        + "packages they need (swift-argument-parser, Hummingbird, SwiftNIO and theirs)."),
    .default(enabledTraits: ["Executables"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    // `make docs` only: a command plugin, built when `swift package generate-documentation`
    // runs and never by `swift build`.
    .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    // The HTTP service only; `make build` and `make train` build the `trellis` product alone.
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    // The HTTP service's request parts (`HTTPRequestPart`), which Hummingbird's pipeline carries.
    .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
  ],
  targets: [
    // MARK: - Public API
    /// The tagger: embeddings, recurrent encoders, structured heads, training, model files.
    .target(
      name: "Trellis", dependencies: ["ConllEval", "TrellisKernels"],
      plugins: ["BuildInfo"]),
    /// conlleval-compatible chunk scoring and tag-scheme handling; pure Swift, no BLAS.
    .target(name: "ConllEval"),
    /// The `trellis` command-line tool.
    .executableTarget(
      name: "trellis",
      dependencies: ["Trellis", executablesOnly("ArgumentParser", from: "swift-argument-parser")]
    ),

    /// The C functions of libTrellisC.so; the header is hand-written, hence excluded. The
    /// library exports the header's functions alone (exports.map).
    .target(
      name: "TrellisC", dependencies: ["Trellis", "ConllEval"],
      exclude: ["include", "exports.map"],
      linkerSettings: [
        .unsafeFlags([
          "-Xlinker", "--version-script=\(packageDirectory)/Sources/TrellisC/exports.map",
        ])
      ]),
    /// The HTTP service: routes, request limits and the batching queue (Hummingbird 2).
    .target(
      name: "TrellisServer",
      dependencies: [
        "Trellis",
        executablesOnly("Hummingbird", from: "hummingbird"),
        executablesOnly("ServiceLifecycle", from: "swift-service-lifecycle"),
        executablesOnly("Logging", from: "swift-log"),
        executablesOnly("NIOCore", from: "swift-nio"),
        executablesOnly("NIOHTTPTypes", from: "swift-nio-extras"),
        executablesOnly("NIOHTTP1", from: "swift-nio"),
        executablesOnly("NIOHTTPTypesHTTP1", from: "swift-nio-extras"),
      ]
    ),
    /// The `trellis-serve` executable: options, the model, signals.
    .executableTarget(
      name: "trellis-serve",
      dependencies: [
        "Trellis", "TrellisServer",
        executablesOnly("ArgumentParser", from: "swift-argument-parser"),
        executablesOnly("Logging", from: "swift-log"),
      ]
    ),

    // MARK: - Implementation details
    /// The vector kernels (exp/σ/tanh, the recurrent product, Viterbi, Adam, dropout) built for
    /// SSE2, AVX2 and AVX-512, one chosen at run time from the CPU's features.
    .target(name: "TrellisKernels"),

    /// Records the git commit a build comes from (model provenance).
    .plugin(name: "BuildInfo", capability: .buildTool()),

    // MARK: - Tests
    .testTarget(name: "ConllEvalTests", dependencies: ["ConllEval"], resources: [.copy("Golden")]),
    .testTarget(name: "TrellisTests", dependencies: ["Trellis"], resources: [.copy("Releases")]),
    .testTarget(name: "CLITests", dependencies: ["Trellis"]),
    .testTarget(
      name: "ServeTests",
      dependencies: [
        "Trellis", "TrellisServer",
        executablesOnly("ServiceLifecycle", from: "swift-service-lifecycle"),
        executablesOnly("Logging", from: "swift-log"),
        executablesOnly("NIOEmbedded", from: "swift-nio"),
        executablesOnly("NIOHTTPTypes", from: "swift-nio-extras"),
      ]
    ),
  ],
  // The numeric kernels share raw buffers across the two direction threads by design (disjoint
  // slices); Swift 5 mode keeps strict-concurrency diagnostics from forcing copies there.
  swiftLanguageModes: [.v5]
)
