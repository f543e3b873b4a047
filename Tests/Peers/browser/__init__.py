"""Browser tests' harness: headless Chromium (harness.Browser) and the test stand-in for a browser wallet
(wallet.Wallet, wallet_standin.js). See README.md in this folder."""
from .harness import VIEWPORTS, Browser, BrowserProblem, Viewport
from .wallet import EVMWallet, SolanaWallet, Wallet, WalletError

__all__ = ["Browser", "BrowserProblem", "EVMWallet", "SolanaWallet", "VIEWPORTS", "Viewport", "Wallet", "WalletError"]
