import ArgumentParser

@main
struct Settled: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "settled", abstract: "Settle daemon")
}
