# pragma version ~=0.4.3
"""
@title Test ERC-20 that returns `false` instead of reverting, for the Settle EVM devnet
@notice Written for Settle's tests (issue 13, "Token behaviours"), like the early tokens that predate
        reverting on failure: `transfer` returns `false` when the sender's balance is short, and
        `transferFrom` returns `false` when the owner's balance or the caller's allowance is short. Then
        nothing moves and nothing is logged (no Transfer, no Approval); the transaction itself succeeds.
        Everything else is snekmate's `erc20` module (a zero-address recipient still reverts).
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
    erc20.approve,
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
def transfer(to: address, amount: uint256) -> bool:
    if erc20.balanceOf[msg.sender] < amount:
        return False
    erc20._transfer(msg.sender, to, amount)
    return True


@external
def transferFrom(owner: address, to: address, amount: uint256) -> bool:
    if erc20.balanceOf[owner] < amount:
        return False
    if erc20.allowance[owner][msg.sender] < amount:
        return False
    erc20._spend_allowance(owner, msg.sender, amount)
    erc20._transfer(owner, to, amount)
    return True
