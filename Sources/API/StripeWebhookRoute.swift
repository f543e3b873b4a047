import Billing
import Foundation
import Hummingbird
import Logging

/// `POST /webhooks/stripe`: Stripe's webhooks in. The event is verified and stored before the answer, so a 2xx
/// means it is durable; 400 means it was refused (bad or stale signature, unreadable body) and nothing was stored;
/// 500 means Settle could not store it and Stripe should deliver it again.
public enum StripeWebhookRoute {
    /// The largest body accepted by default (`[server] webhook_max_body_bytes`; Stripe's events are far smaller).
    public static let defaultMaximumBody = 1 << 20

    /// Adds the route to `router`. `now` is the clock used for the signature's tolerance window.
    public static func add<Context: RequestContext>(to router: Router<Context>, inbox: StripeInbox, logger: Logger,
                                                    now: @escaping @Sendable () -> UInt64 = { UInt64(Date().timeIntervalSince1970) }) {
        add(to: router, inbox: inbox, maximumBody: defaultMaximumBody, logger: logger, now: now)
    }

    /// Adds the route with a body limit of `maximumBody` bytes (413 beyond).
    public static func add<Context: RequestContext>(to router: Router<Context>, inbox: StripeInbox, maximumBody: Int, logger: Logger,
                                                    now: @escaping @Sendable () -> UInt64) {
        router.post("/webhooks/stripe") { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: maximumBody)
            } catch {
                return json(.contentTooLarge, ["error": "body larger than \(maximumBody) bytes"])
            }
            let payload = Array(buffer: body)
            do {
                switch try await inbox.receive(payload: payload, signatureHeader: request.headers.first { $0.name.canonicalName == "stripe-signature" }?.value, now: now()) {
                case .stored(let id):
                    logger.info("Stripe event stored", metadata: ["stripe.event": "\(id)"])
                    return json(.ok, ["received": true, "duplicate": false])
                case .duplicate(let id):
                    logger.info("Stripe event already stored", metadata: ["stripe.event": "\(id)"])
                    return json(.ok, ["received": true, "duplicate": true])
                }
            } catch let error as BillingError {
                logger.warning("Stripe webhook refused", metadata: ["error": "\(error)"])
                return json(.badRequest, ["error": "\(error)"])
            } catch {
                logger.error("Stripe webhook not stored", metadata: ["error": "\(error)"])
                return json(.internalServerError, ["error": "not stored; deliver again"])
            }
        }
    }

    static func json(_ status: HTTPResponse.Status, _ object: [String: any Sendable]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
}
