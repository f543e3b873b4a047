import Billing
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SettleCore

/// Checkout sessions (`POST /v1/checkout_sessions`, admin) and the customer's page (`/checkout/{id}`), its JSON
/// requests and the pages' assets. A page route's authority is the session id in its path: no bearer token, errors as a
/// page (HTML) or JSON (the page's script), state-changing requests with the page's CSRF header.
extension SettleAPI {
    func addPages<Context: RequestContext>(to router: Router<Context>) {
        router.get("/assets/pages.css") { _, _ in PageHTML.asset("text/css; charset=utf-8", PageAssets.css) }
        router.get("/assets/checkout.js") { _, _ in PageHTML.asset("text/javascript; charset=utf-8", PageAssets.checkoutJS) }
        router.get("/assets/favicon.svg") { _, _ in PageHTML.asset("image/svg+xml", PageAssets.favicon) }
        router.get("/favicon.ico") { _, _ in PageHTML.asset("image/svg+xml", PageAssets.favicon) }
        router.get("/assets/wallet.js") { _, _ in PageHTML.asset("text/javascript; charset=utf-8", PageAssets.walletJS) }
        router.get("/assets/portal.js") { _, _ in PageHTML.asset("text/javascript; charset=utf-8", PageAssets.portalJS) }
        router.post("/v1/portal_sessions") { request, _ in
            await self.guarded(request, .admin) {
                JSONBody.response(.created, try await self.portalService().create(try await self.body(request), now: self.now()))
            }
        }
        router.get("/portal/:id") { _, context in await self.portalPage(Self.parameter(context, "id") ?? "") }
        router.get("/portal/:id/state") { request, context in
            await self.guarded(request, nil) { JSONBody.response(.ok, try await self.portalService().state(Self.parameter(context, "id") ?? "", now: self.now())) }
        }
        router.get("/portal/:id/approval") { request, context in
            await self.guarded(request, nil) {
                let query = QueryParameters(request)
                guard let agreement = Int64(try query.required("agreement")) else { throw APIError.badRequest("'agreement' must be an agreement id") }
                return JSONBody.response(.ok, try await self.portalService().approvalTransactions(
                    Self.parameter(context, "id") ?? "", agreement: agreement, amount: query.string("amount") == nil ? nil : try query.amount(),
                    token: query.string("token"), wallet: query.string("wallet"), now: self.now()))
            }
        }
        router.post("/portal/:id/approval") { request, context in
            await self.guarded(request, nil) {
                let body: JSON
                do { body = try JSON(parsing: try await self.body(request)) } catch let error as APIError { throw error } catch {
                    throw APIError.badRequest("the body is not JSON: \(error)")
                }
                guard case .number(let text)? = body["agreement"], let agreement = Int64(text), let action = body["action"]?.stringValue,
                      let transaction = body["transaction"]?.stringValue else {
                    throw APIError.badRequest("the body needs 'agreement' (a number), 'action' and 'transaction'")
                }
                let token: String?
                switch body["token"] {
                case nil, .null?: token = nil
                case .string(let symbol)?: token = symbol
                default: throw APIError.badRequest("'token' must be a token symbol")
                }
                let csrf = request.headers[HTTPField.Name("X-Settle-CSRF")!]  // swiftlint:disable:this force_unwrapping
                return JSONBody.response(.ok, try await self.portalService().report(Self.parameter(context, "id") ?? "", csrf: csrf, agreement: agreement,
                                                                                    action: action, transaction: transaction, token: token,
                                                                                    now: self.now()))
            }
        }
        router.post("/v1/checkout_sessions") { request, _ in
            await self.guarded(request, .admin) {
                let checkout = try self.checkoutService()
                return JSONBody.response(.created, try await checkout.create(try await self.body(request), now: self.now()))
            }
        }
        router.get("/checkout/:id") { _, context in await self.checkoutPage(Self.parameter(context, "id") ?? "") }
        router.get("/checkout/:id/state") { request, context in
            await self.guarded(request, nil) {
                JSONBody.response(.ok, try await self.checkoutService().state(Self.parameter(context, "id") ?? "", now: self.now()))
            }
        }
        router.get("/checkout/:id/approval") { request, context in
            await self.guarded(request, nil) {
                let query = QueryParameters(request)
                let amount = query.string("amount") == nil ? nil : try query.amount()
                return JSONBody.response(.ok, try await self.checkoutService().approvalTransactions(
                    Self.parameter(context, "id") ?? "", chain: try query.required("chain"), token: try query.required("token"),
                    wallet: try query.required("wallet"), amount: amount, now: self.now()))
            }
        }
        router.post("/checkout/:id/approval") { request, context in
            await self.guarded(request, nil) {
                let body: JSON
                do { body = try JSON(parsing: try await self.body(request)) } catch let error as APIError { throw error } catch {
                    throw APIError.badRequest("the body is not JSON: \(error)")
                }
                guard let chain = body["chain"]?.stringValue, let token = body["token"]?.stringValue, let transaction = body["transaction"]?.stringValue else {
                    throw APIError.badRequest("the body needs 'chain', 'token' and 'transaction' strings")
                }
                let csrf = request.headers[HTTPField.Name("X-Settle-CSRF")!]  // swiftlint:disable:this force_unwrapping
                return JSONBody.response(.ok, try await self.checkoutService().report(Self.parameter(context, "id") ?? "", csrf: csrf, chain: chain,
                                                                                      token: token, transaction: transaction, now: self.now()))
            }
        }
    }

    func portalService() throws(APIError) -> PortalService {
        guard let portal else { throw APIError.notFound("portal sessions need [stripe] in settle.toml") }
        return portal
    }

    /// `GET /portal/{id}`: the page, or one saying why there is none.
    func portalPage(_ id: String) async -> Response {
        do {
            let session = try await portalService().session(id, now: now())
            return PageHTML.response(.ok, PortalPage.render(id: id, csrf: session.csrf))
        } catch let error as APIError where error.status == .gone {
            return PageHTML.notice(.gone, title: "This link has expired", message: "Ask the merchant for a new one.")
        } catch let error as APIError where error.status == .notFound {
            return PageHTML.notice(.notFound, title: "Link not found", message: "This link is not valid. Ask the merchant for a new one.")
        } catch {
            logger.error("portal page failed", metadata: ["error": "\(error)"])
            return PageHTML.notice(.internalServerError, title: "Something went wrong", message: "Try again in a minute.")
        }
    }

    func checkoutService() throws(APIError) -> CheckoutService {
        guard let checkout else { throw APIError.notFound("checkout sessions need [stripe] in settle.toml") }
        return checkout
    }

    /// The request's body, at most `maxBodyBytes`.
    func body(_ request: Request) async throws -> [UInt8] {
        do { return Array(buffer: try await request.body.collect(upTo: maxBodyBytes)) } catch {
            throw APIError(.contentTooLarge, "too_large", "the body exceeds \(maxBodyBytes) bytes")
        }
    }

    /// `GET /checkout/{id}`: the page, or a page saying why there is none.
    func checkoutPage(_ id: String) async -> Response {
        do {
            let checkout = try checkoutService()
            let (session, request, progress) = try await checkout.session(id)
            if now() >= session.expiresAt, progress.step == .open || progress.step == .approving {
                return PageHTML.notice(.gone, title: "This checkout has expired", message: "Ask the merchant for a new link. Nothing was charged.")
            }
            var options: [CheckoutPage.Option] = []
            for name in request.chains {
                guard let chain = chains[name] else { continue }
                for token in chain.tokens where request.tokens.contains(token.symbol) {
                    guard let (payment, suggested, decimals, payments) = try? checkout.amounts(request, chain: chain, token: token.symbol) else { continue }
                    options.append(CheckoutPage.Option(chain: name, family: chain.family, chainID: chain.walletChainID, token: token.symbol, decimals: decimals,
                                                       payment: payment.description, suggested: suggested.description,
                                                       suggestedDisplay: AmountText.short(suggested, decimals: decimals),
                                                       paymentDisplay: AmountText.short(payment, decimals: decimals), payments: payments))
                }
            }
            guard !options.isEmpty else {
                return PageHTML.notice(.conflict, title: "No way to pay here", message: "None of the tokens this checkout accepts can pay its price. Tell the merchant.")
            }
            return PageHTML.response(.ok, CheckoutPage.render(id: id, csrf: session.csrf, request: request, options: options, progress: progress))
        } catch let error as APIError where error.status == .notFound {
            return PageHTML.notice(.notFound, title: "Checkout not found", message: "This link is not valid. Ask the merchant for a new one.")
        } catch {
            logger.error("checkout page failed", metadata: ["error": "\(error)"])
            return PageHTML.notice(.internalServerError, title: "Something went wrong", message: "Try again in a minute. Nothing was charged.")
        }
    }
}
