@testable import ObjectStore
import XCTest

/// Where requests go: virtual-hosted addressing on AWS, path-style on custom endpoints, keys
/// percent-encoded as SigV4 signs them.
final class S3AddressingTests: XCTestCase {
    func client(_ url: String, endpoint: String?) throws -> S3Client {
        try S3Client(location: try S3Location(url: url, endpoint: endpoint, region: "eu-west-1"),
                     credentials: AWSCredentialProvider(.init(accessKeyID: "AKID", secretAccessKey: "secret")))
    }

    func testAWSIsVirtualHostedAndCustomEndpointsArePathStyle() throws {
        let aws = try client("s3://kessan-backups/pgseal", endpoint: nil)
        XCTAssertEqual(aws.location.prefix, "pgseal/")
        let onAWS = aws.target(aws.fullKey("p/2026/x y+z.tar"))
        XCTAssertEqual(onAWS.host, "kessan-backups.s3.eu-west-1.amazonaws.com")
        XCTAssertEqual(onAWS.path, "/pgseal/p/2026/x%20y%2Bz.tar")
        XCTAssertEqual(onAWS.base, "https://kessan-backups.s3.eu-west-1.amazonaws.com")

        let minio = try client("s3://kessan-backups/", endpoint: "https://minio.internal:9000/")
        let onMinio = minio.target("a/b")
        XCTAssertEqual(onMinio.host, "minio.internal:9000")
        XCTAssertEqual(onMinio.path, "/kessan-backups/a/b")
        XCTAssertEqual(minio.target("").path, "/kessan-backups", "a bucket-level call addresses the bucket without a trailing slash")
    }

    func testMalformedLocationsAreRefused() {
        XCTAssertThrowsError(try S3Location(url: "s3:///prefix", endpoint: nil, region: "us-east-1"))
        XCTAssertThrowsError(try S3Location(url: "https://bucket/prefix", endpoint: nil, region: "us-east-1"))
    }
}
