# pragma version ~=0.4.3
"""
@title USDT-style test ERC-20 whose functions return no value, for the Settle EVM devnet
@notice Written for Settle's tests (issue 13, "Token behaviours"): `transfer`, `transferFrom` and
        `approve` return nothing (empty return data), as Tether's USDT does, but otherwise behave like
        snekmate's `erc20`: they revert on failure ("erc20: transfer amount exceeds balance",
        "erc20: insufficient allowance") and log Approval/Transfer as the standard token does.
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
    erc20._approve(msg.sender, spender, amount)
