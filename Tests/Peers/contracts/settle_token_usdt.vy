# pragma version ~=0.4.3
"""
@title USDT-style test ERC-20 that refuses to change a non-zero allowance, for the Settle EVM devnet
@notice Written for Settle's tests (issue 16): tokens that need care when approving; the checkout and
        the portal send approve(0) first. As Tether's USDT on Ethereum mainnet does, `approve(spender,
        value)` reverts, with no reason (empty revert data), when both `value` and the caller's current
        allowance for `spender` are non-zero: a non-zero allowance must be set to zero before it can be
        set to another non-zero value. Approving to zero, and approving from zero, work and log Approval.
        Also as USDT does, `transfer`, `transferFrom` and `approve` return nothing (empty return data).
        Everything else is snekmate's `erc20`: a short balance or allowance reverts with its reasons
        ("erc20: transfer amount exceeds balance", "erc20: insufficient allowance"), an allowance of
        2**256-1 is never reduced, a finite one is reduced by `transferFrom` and logged as Approval (which
        USDT does not log; every devnet kind does), and the deployer can `mint`.
"""

from snekmate.auth import ownable
from snekmate.tokens import erc20

initializes: ownable
initializes: erc20[ownable := ownable]

exports: (
    ownable.owner,
    erc20.name,
    erc20.symbol,
    erc20.decimals,
    erc20.totalSupply,
    erc20.balanceOf,
    erc20.allowance,
    erc20.mint,
)


@deploy
@payable
def __init__(
    name_: String[25],
    symbol_: String[5],
    decimals_: uint8,
    initial_holder_: address,
    initial_supply_: uint256,
):
    ownable.__init__()
    erc20.__init__(name_, symbol_, decimals_, name_, "1")
    if initial_supply_ > 0:
        erc20._mint(initial_holder_, initial_supply_)


@external
def transfer(to: address, amount: uint256):
    erc20._transfer(msg.sender, to, amount)


@external
def transferFrom(owner: address, to: address, amount: uint256):
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)


@external
def approve(spender: address, amount: uint256):
    # non-zero to non-zero is refused; a bare revert, as USDT's `require` without a message
    if amount != 0 and erc20.allowance[msg.sender][spender] != 0:
        raise
    erc20._approve(msg.sender, spender, amount)
