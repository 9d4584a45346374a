import Foundation

/// The S3 server of a test run: moto with IAM authentication on (scripts/s3server.sh), started
/// once and stopped when the process exits. If it cannot start, tests that need it fail.
public final class S3Server: @unchecked Sendable {
    public let endpoint: String
    public let accessKeyID: String
    public let secretAccessKey: String
    let directory: String
    private static let service = SharedService(start: { try S3Server() }, stop: { server in
        _ = try? Command.run([Repository.path("scripts/s3server.sh"), "stop", server.directory])
    })

    public static func shared() throws -> S3Server { try service.get() }

    private init() throws {
        directory = try TemporaryDirectory("pgseal-test-s3").path
        let result = try Command.run([Repository.path("scripts/s3server.sh"), "start", directory])
        let fields = result.out.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        guard result.status == 0, fields.count == 3 else {
            throw TestSetupError("the S3 server (moto) could not be started by scripts/s3server.sh (exit \(result.status)): \(result.err)")
        }
        (endpoint, accessKeyID, secretAccessKey) = (fields[0], fields[1], fields[2])
    }

    /// The environment pgseal needs to reach this server.
    public func environment(secret: String? = nil) -> [String: String] {
        ["PGSEAL_S3_ENDPOINT": endpoint, "AWS_ACCESS_KEY_ID": accessKeyID, "AWS_SECRET_ACCESS_KEY": secret ?? secretAccessKey, "AWS_REGION": "us-east-1"]
    }

    /// Runs a boto3 snippet against the server with `s3` bound to a client; returns its stdout.
    public func boto(_ code: String) throws -> String {
        let script = "import boto3, sys\ns3 = boto3.client('s3', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])\n" + code
        let result = try Command.run(["python3", "-c", script, endpoint, accessKeyID, secretAccessKey])
        guard result.status == 0 else { throw TestSetupError("boto3 failed: \(result.err)") }
        return result.out
    }

    /// A role with an allow-all inline policy, for temporary credentials; returns its ARN.
    public func makeRole() throws -> String {
        let name = "pgseal-role-\(UUID().uuidString.prefix(8).lowercased())"
        return try boto("""
            import json
            iam = boto3.client('iam', endpoint_url=sys.argv[1], region_name='us-east-1', aws_access_key_id=sys.argv[2], aws_secret_access_key=sys.argv[3])
            trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*", "Federated": "oidc"}, "Action": ["sts:AssumeRole", "sts:AssumeRoleWithWebIdentity"]}]}
            arn = iam.create_role(RoleName='\(name)', AssumeRolePolicyDocument=json.dumps(trust))['Role']['Arn']
            iam.put_role_policy(RoleName='\(name)', PolicyName='all', PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
            print(arn)
            """).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Lets the next `count` calls through unsigned, then checks signatures again: STS's
    /// AssumeRoleWithWebIdentity is unsigned by design, which moto's IAM mode does not know.
    public func allowUnsignedCalls(_ count: Int) throws {
        let result = try Command.run(["python3", "-c", "import sys, urllib.request; urllib.request.urlopen(urllib.request.Request(sys.argv[1] + '/moto-api/reset-auth', data=sys.argv[2].encode(), method='POST', headers={'Content-Type': 'text/plain'}))",
                                      endpoint, String(count)])
        guard result.status == 0 else { throw TestSetupError("moto reset-auth failed: \(result.err)") }
    }

    /// A new bucket with a unique name.
    public func makeBucket() throws -> String {
        let name = "pgseal-\(UUID().uuidString.prefix(8).lowercased())"
        _ = try boto("s3.create_bucket(Bucket='\(name)')")
        return name
    }
}
