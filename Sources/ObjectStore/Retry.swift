import Foundation

/// The retry rule of every AWS call pgseal makes: throttling, server errors and broken
/// connections are retried with exponential backoff and full jitter; other 4xx answers are
/// answers and end the call at once.
enum Retry {
    static let maxAttempts = 6

    /// Sends until a 2xx response, an answer that is not worth retrying, or the last attempt.
    static func run(_ send: () throws -> HTTPResponse, error: (HTTPResponse) -> AWSError) throws -> HTTPResponse {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try send()
                if (200..<300).contains(response.status) { return response }
                let failure = error(response)
                guard failure.isRetryable, attempt < maxAttempts else { throw failure }
            } catch let failure as HTTPError where failure.isRetryable {
                guard attempt < maxAttempts else { throw failure }
            }
            backoff(attempt)
        }
    }

    /// A random wait up to 0.2 s × 2^attempt, at most 20 s.
    static func backoff(_ attempt: Int) {
        let ceiling = min(20.0, 0.2 * pow(2.0, Double(attempt)))
        Thread.sleep(forTimeInterval: Double.random(in: 0...ceiling))
    }
}
