import ArgumentParser
import Foundation
import Trellis

// `trellis train`'s recipe: the configuration file's, with the flags given applied over it,
// and its validation, which names a value the way the user gave it.
extension Train {
  /// The configuration file's recipe (or the defaults) with every flag given applied over it.
  func recipe() throws -> TrainingRecipe {
    flagsApplied(to: try config.map(TrainingRecipe.read(from:)) ?? TrainingRecipe())
  }

  /// `base` with every flag given applied over it.
  func flagsApplied(to base: TrainingRecipe) -> TrainingRecipe {
    var recipe = base
    func override<Value>(_ field: inout Value, _ flag: Value?) { if let flag { field = flag } }
    func override<Value>(_ field: inout Value?, _ flag: Value?) { if let flag { field = flag } }
    override(&recipe.note, note)
    override(&recipe.data.train, train)
    override(&recipe.data.dev, dev)
    override(&recipe.data.test, test)
    override(&recipe.data.embeddings, embeddings)
    override(&recipe.data.embeddingsScope, embeddingsScope)
    override(&recipe.data.tokenColumn, tokenColumn)
    override(&recipe.data.labelColumn, labelColumn)
    override(&recipe.configuration.encoder, encoder)
    override(&recipe.configuration.head, head)
    override(&recipe.configuration.embeddingSize, embeddingSize)
    override(&recipe.configuration.hiddenSize, hiddenSize)
    override(&recipe.configuration.layers, layers)
    override(&recipe.configuration.window, window)
    if !featureColumn.isEmpty { recipe.configuration.featureColumns = featureColumn }
    override(&recipe.configuration.characterFilters, characterFilters)
    override(&recipe.configuration.characterEmbeddingSize, characterEmbeddingSize)
    override(&recipe.configuration.headOptions.costWeight, costWeight)
    override(&recipe.configuration.headOptions.l2, l2)
    override(&recipe.configuration.normalization.lowercase, keepCase.map(!))
    override(&recipe.configuration.normalization.digitsToZero, keepDigits.map(!))
    override(&recipe.configuration.lowercaseCharacters, lowercaseCharacters)
    override(&recipe.configuration.constrainedDecoding, constraints)
    override(&recipe.configuration.trainingScheme, scheme)
    override(&recipe.options.seed, optimization.seed)
    override(&recipe.options.epochs, optimization.epochs)
    override(&recipe.options.batchSize, optimization.batchSize)
    override(&recipe.options.optimizer, optimization.optimizer)
    override(&recipe.options.learningRate, optimization.learningRate)
    override(&recipe.options.learningRateDecay, optimization.learningRateDecay)
    override(&recipe.options.annealFactor, optimization.annealFactor)
    override(&recipe.options.annealPatience, optimization.annealPatience)
    override(&recipe.options.clipNorm, optimization.clip)
    override(&recipe.options.dropout, optimization.dropout)
    override(&recipe.options.variationalDropout, optimization.variationalDropout)
    override(&recipe.options.unknownReplacement, optimization.unknownReplacement)
    override(&recipe.options.patience, optimization.patience)
    override(&recipe.options.average, optimization.average)
    override(&recipe.options.freezeEmbeddings, freezeEmbeddings)
    return recipe
  }

  /// The recipe, validated: its mistakes are usage errors. `run()` calls it first, not
  /// `validate()`: the --config file is read once, since a pipe (`--config <(jq … run.json)`)
  /// can be read only once.
  func validatedRecipe() throws -> TrainingRecipe {
    // The recipe's "" is a --train not given, which the recipe's check calls required; the
    // configuration file is read before the files are checked.
    for (option, path) in [("train", train), ("config", config)] where path == "" {
      throw ValidationError(OptionError.emptyPath(option).description)
    }
    var recipe: TrainingRecipe
    do { recipe = try self.recipe() } catch let error as OptionError {
      // A number the configuration file gave that its field's type cannot hold.
      throw ValidationError(
        "\(visibleControlCharacters(config ?? "")): '\(error.field ?? error.option)' "
          + error.message)
    }
    do { try recipe.validate() } catch let error as OptionError {
      // A value the configuration file gave, which no flag replaced, is named as the file
      // names it.
      if let config, let field = error.field,
        jsonText(at: field, of: recipe) != jsonText(at: field, of: flagsApplied(to: .init()))
      {
        throw ValidationError("\(visibleControlCharacters(config)): '\(field)' \(error.message)")
      }
      throw ValidationError(error.description)
    }
    // --test is read only for the words whose vectors --embeddings keeps: without vectors it
    // shapes nothing, and the model recorded it all the same. Left out with a note, not
    // refused: the recipe of a model that recorded it (0.5.0's) still trains.
    if recipe.data.embeddings == nil, let test = recipe.data.test {
      if !quiet {
        printError(
          "note: --test \(test) is left out: it is read only for the vectors of --embeddings, "
            + "which this run has none of")
      }
      recipe.data.test = nil
    }
    return recipe
  }

  func validate() throws {
    guard printConfig || model != nil else {
      throw ValidationError("Missing expected argument '--model <model>'")
    }
    guard !logSteps || log != nil else { throw ValidationError("--log-steps needs --log FILE") }
  }
}

/// The JSON text of the field of `recipe` at `path` (`configuration.featureColumns[0].size`,
/// as `OptionError.field` names it); nil where it has none.
private func jsonText(at path: String, of recipe: TrainingRecipe) -> String? {
  var value = try? JSONSerialization.jsonObject(with: JSONEncoder().encode(recipe))
  for component in path.split(separator: ".") {
    let parts = component.split(separator: "[")  // ["featureColumns", "0]"]
    value = (value as? [String: Any])?[String(parts[0])]
    for index in parts.dropFirst().compactMap({ Int($0.dropLast()) }) {
      value = (value as? [Any]).flatMap { index < $0.count ? $0[index] : nil }
    }
  }
  return value.flatMap {
    try? JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed, .sortedKeys])
  }.map { String(decoding: $0, as: UTF8.self) }
}
