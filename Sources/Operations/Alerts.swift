import Foundation
import ObjectStore

/// Where a failed check is reported: a Slack-style webhook, an SNS topic.
package enum Alerts {
    /// POSTs `{"text": …}` (Slack-style incoming webhooks take it as is).
    package static func webhook(_ url: String, text: String) throws {
        let body = try JSONSerialization.data(withJSONObject: ["text": text])
        let response: HTTPResponse
        do {
            response = try [UInt8](body).withUnsafeBytes { bytes in
                try HTTPClient().perform(method: "POST", url: url, headers: ["Content-Type": "application/json"], body: bytes, timeout: 30)
            }
        } catch {
            throw WebhookError(description: "the alert webhook \(maskedWebhook(url)) failed: " + "\(error)".replacingOccurrences(of: url, with: maskedWebhook(url)))
        }
        guard (200..<300).contains(response.status) else {
            throw WebhookError(description: "the alert webhook \(maskedWebhook(url)) answered HTTP \(response.status)")
        }
    }

    /// A webhook URL is a secret (whoever has it can post): only its scheme and host are shown.
    package static func maskedWebhook(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "***" }
        return "\(scheme)://\(host)/***"
    }

    struct WebhookError: Error, CustomStringConvertible {
        let description: String
    }

    /// SNS Publish to `topicARN` (`arn:aws:sns:REGION:ACCOUNT:NAME`), signed with the same SigV4
    /// and credentials as S3; the endpoint is the topic's region's unless `AWS_ENDPOINT_URL_SNS`
    /// or `AWS_ENDPOINT_URL` names another.
    package static func sns(_ topicARN: String, subject: String, text: String, settings: StoreSettings) throws {
        let fields = topicARN.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 6, fields[0] == "arn", fields[2] == "sns" else {
            throw StoreError.invalidLocation(topicARN, reason: "an SNS topic is arn:aws:sns:REGION:ACCOUNT:NAME")
        }
        let region = String(fields[3])
        let caBundle = settings.effectiveCABundle
        let api = try AWSQueryAPI(endpoint: AWSQueryAPI.endpoint(service: "sns", region: region, environment: settings.awsVariables), service: "sns",
                                  region: region, credentials: try settings.credentialProvider(region: region),
                                  caBundle: caBundle)
        // SNS subjects are at most 100 characters; messages at most 256 KiB.
        _ = try api.call("Publish", version: "2010-03-31",
                         parameters: [("TopicArn", topicARN), ("Subject", String(subject.prefix(100))), ("Message", String(text.prefix(200_000)))])
    }
}
